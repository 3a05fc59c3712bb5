// A short scenario through Vigie's API with a client generated from its OpenAPI document
// (openapi-typescript) and openapi-fetch. Run by `go test ./clients/typescript/`, which starts the
// server, generates src/vigie-api.d.ts from its /api/v1/openapi.json, type-checks this file
// against it and runs it with:
//
//   VIGIE_URL        the server, e.g. http://127.0.0.1:8080
//   VIGIE_TOKEN      a script token of the quotes department (devis): vigie user token --email …
//   VIGIE_DPO_TOKEN  a script token of the DPO (erasure); optional, the erasure steps are skipped without it
//
// It prints step names, statuses and field names only, never a value (the values are fake anyway).
import createClient from "openapi-fetch";
import type { components, paths } from "./vigie-api.js";
import { conformance } from "./conformance.js";

type Person = components["schemas"]["Person"];
type ErrorBody = components["schemas"]["Error"];

function env(name: string): string {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
}

const baseUrl = env("VIGIE_URL");
const token = env("VIGIE_TOKEN");
const dpoToken = process.env.VIGIE_DPO_TOKEN;

const failures: string[] = [];
let step = "";

function check(ok: boolean, what: string): void {
  if (!ok) failures.push(`${step}: ${what}`);
}

function status(res: { response: Response }, want: number): void {
  check(res.response.status === want, `status ${res.response.status}, want ${want}`);
}

/** An error answer must carry its stable code, and name the refused field with its rule. */
function refused(err: ErrorBody | undefined, code: string, field?: string): void {
  check(err?.error === code, `error code ${err?.error}, want ${code}`);
  check(typeof err?.message === "string" && err.message !== "", "error without a message");
  if (field) {
    const names = (err?.fields ?? []).map((f) => `${f.field}/${f.rule}`);
    check((err?.fields ?? []).some((f) => f.field === field && f.rule !== ""), `fields ${JSON.stringify(names)} do not name ${field}`);
  }
}

function begin(name: string): void {
  step = name;
  console.log(`- ${name}`);
}

const conf = await conformance(baseUrl);
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
client.use(conf.middleware);
const anonymous = createClient<paths>({ baseUrl });
anonymous.use(conf.middleware);

// Fake values: no real person.
const fake = {
  first_name: "Camille",
  last_name: "Exemple-Test",
  email: "camille.exemple@example.test",
  phone: "0612345678",
  birth_date: "1985-04-12",
  postal_code: "75011",
  city: "Paris",
} satisfies components["schemas"]["PersonWrite"];

begin("GET /me: the caller and what the department may read and write");
{
  const res = await client.GET("/api/v1/me");
  status(res, 200);
  check(res.data?.department === "devis", "department is not devis");
  check(res.data?.purposes.includes("quotes") === true, "purposes lack quotes");
  check(res.data?.access.persons?.write.includes("first_name") === true, "persons.first_name not writable");
  check(res.data?.access.contracts?.read.includes("annual_premium") !== true, "contracts.annual_premium readable by devis");
}

begin("POST /persons: create a person");
let id = 0;
{
  const res = await client.POST("/api/v1/persons", { body: { ...fake, _channel: "phone" } });
  status(res, 201);
  const p: Person | undefined = res.data;
  id = p?.id ?? 0;
  check(id > 0, "no id");
  check(res.response.headers.get("Location") === `/api/v1/persons/${id}`, "Location is not the new person");
  check(p?.first_name === fake.first_name && p?.last_name === fake.last_name, "name not as sent");
  check(p?.email === fake.email, "email not as sent");
  check(p?.phone === "+33612345678", "phone not stored as E.164");
  check(p?.birth_date === fake.birth_date, "birth_date not as sent");
  check(p?.kind === "prospect", "kind is not its default, prospect");
  check(typeof p?.created_at === "string" && !Number.isNaN(Date.parse(p.created_at)), "created_at is not a date-time");
}

begin("GET /persons/{id}: read it back, with provenance");
{
  const res = await client.GET("/api/v1/persons/{id}", { params: { path: { id }, query: { include: "provenance" } } });
  status(res, 200);
  check(res.data?.id === id, "another person");
  check(res.data?.city === fake.city && res.data?.postal_code === fake.postal_code, "address not as sent");
  const prov = res.data?._provenance?.["email"];
  check(prov?.channel === "phone", "email provenance channel is not phone");
  check(prov?.purpose === "quotes", "email provenance purpose is not quotes");
  const plain = await client.GET("/api/v1/persons/{id}", { params: { path: { id } } });
  status(plain, 200);
  check(plain.data?._provenance === undefined, "provenance shown without ?include=provenance");
}

begin("GET /persons: list and exact search");
{
  const list = await client.GET("/api/v1/persons", { params: { query: { limit: 50 } } });
  status(list, 200);
  check(list.data?.items.some((p) => p.id === id) === true, "the person is not listed");
  const found = await client.GET("/api/v1/persons", { params: { query: { email: fake.email } } });
  status(found, 200);
  check(found.data?.items.length === 1 && found.data.items[0]?.id === id, "search by email does not find exactly the person");
  const none = await client.GET("/api/v1/persons", { params: { query: { email: "nobody@example.test" } } });
  status(none, 200);
  check(none.data?.items.length === 0, "search by an unknown email finds someone");
}

begin("PATCH /persons/{id}: change the address");
{
  const res = await client.PATCH("/api/v1/persons/{id}", { params: { path: { id } }, body: { city: "Lyon", postal_code: "69003" } });
  status(res, 200);
  check(res.data?.city === "Lyon" && res.data?.postal_code === "69003", "address not changed");
  check(res.data?.first_name === fake.first_name, "an untouched field changed");
}

begin("POST /quotes: a quote, found by plate, then a second one prefilled from it");
{
  const res = await client.POST("/api/v1/quotes", {
    body: {
      person_id: id, vehicle_make: "Renault", vehicle_model: "Clio", vehicle_year: 2018, vehicle_energy: "essence",
      vehicle_usage: "prive", licence_date: "2005-06-01", bonus_malus: 0.85, coverage: "tiers_plus", plate: "AB-123-CD",
    },
  });
  status(res, 201);
  const quote = res.data?.id ?? 0;
  check(quote > 0 && res.data?.person_id === id && res.data?.status === "draft", "quote not created as a draft for the person");
  check(res.data?.bonus_malus === 0.85 && res.data?.vehicle_year === 2018, "numbers not as sent");
  const found = await client.GET("/api/v1/quotes", { params: { query: { plate: "AB-123-CD" } } });
  status(found, 200);
  check(found.data?.items.length === 1 && found.data.items[0]?.id === quote, "search by plate does not find exactly the quote");
  // The vehicle, driver and pricing fields QuoteWrite requires come from the first quote here.
  const again = await client.POST("/api/v1/quotes", {
    body: { person_id: id, coverage: "tous_risques", _prefill_from_quote: quote, _person_confirmed: true } as components["schemas"]["QuoteWrite"],
  });
  status(again, 201);
  check(again.data?.vehicle_make === "Renault" && again.data?.coverage === "tous_risques", "prefilled quote not completed from the first");
}

begin("POST /persons/{id}/consents: record a consent, then its withdrawal");
{
  const given = await client.POST("/api/v1/persons/{id}/consents", {
    params: { path: { id } },
    body: { purpose: "prospection_email", granted: true, channel: "phone" },
  });
  status(given, 200);
  check(given.data?.current["prospection_email"]?.granted === true, "consent not current");
  check(given.data?.current["prospection_email"]?.method === "staff_recorded", "method is not staff_recorded");
  const withdrawn = await client.POST("/api/v1/persons/{id}/consents", {
    params: { path: { id } },
    body: { purpose: "prospection_email", granted: false, channel: "email" },
  });
  status(withdrawn, 200);
  check(withdrawn.data?.current["prospection_email"]?.granted === false, "withdrawal not current");
  const history = await client.GET("/api/v1/persons/{id}/consents", { params: { path: { id } } });
  status(history, 200);
  check(history.data?.history.length === 2, "history does not keep both choices");
}

begin("POST /interactions: note a call, list the person's interactions");
{
  const occurred = new Date(Date.now() - 60_000).toISOString();
  const res = await client.POST("/api/v1/interactions", {
    body: { person_id: id, channel: "phone", purpose: "quotes", occurred_at: occurred, note: "Appel de test" },
  });
  status(res, 201);
  check(res.data?.person_id === id && res.data?.note === "Appel de test", "interaction not as sent");
  const list = await client.GET("/api/v1/interactions", { params: { query: { person_id: id } } });
  status(list, 200);
  check(list.data?.items.length === 1 && list.data.items[0]?.id === res.data?.id, "the interaction is not listed for the person");
}

begin("POST /persons/{id}/objections: object to prospection");
{
  const res = await client.POST("/api/v1/persons/{id}/objections", { params: { path: { id } }, body: { purpose: "prospection", channel: "phone" } });
  status(res, 201);
  check(res.data?.person_id === id && res.data?.purpose === "prospection", "objection not as sent");
}

begin("errors: refused input names the field and the rule, and changes nothing");
{
  const bad = await client.POST("/api/v1/persons", { body: { first_name: "Dominique", last_name: "Exemple-Test", email: "pas-une-adresse" } });
  status(bad, 400);
  refused(bad.error, "validation_failed", "email");
  const missing = await client.POST("/api/v1/persons", { body: { first_name: "Dominique" } as components["schemas"]["PersonWrite"] });
  status(missing, 400);
  refused(missing.error, "validation_failed", "last_name");
  const unknown = await client.PATCH("/api/v1/persons/{id}", {
    params: { path: { id } },
    body: { shoe_size: "42" } as unknown as components["schemas"]["PersonWrite"],
  });
  status(unknown, 400);
  refused(unknown.error, "validation_failed", "shoe_size");
  const purpose = await client.POST("/api/v1/persons/{id}/consents", {
    params: { path: { id } },
    body: { purpose: "astrologie", granted: true, channel: "phone" } as unknown as components["schemas"]["NewConsent"],
  });
  status(purpose, 400);
  refused(purpose.error, "validation_failed", "purpose");
  const after = await client.GET("/api/v1/persons", { params: { query: { last_name: "Exemple-Test" } } });
  status(after, 200);
  check(after.data?.items.length === 1, "a refused create wrote a person");
  const unchanged = await client.GET("/api/v1/persons/{id}", { params: { path: { id } } });
  check(unchanged.data?.city === "Lyon", "a refused update changed the person");
  const limit = await client.GET("/api/v1/persons", { params: { query: { limit: 1000 } } });
  status(limit, 400);
  refused(limit.error, "validation_failed", "limit");
}

begin("errors: unknown person, department without access, no token");
{
  const unknown = await client.GET("/api/v1/persons/{id}", { params: { path: { id: 999_999_999 } } });
  status(unknown, 404);
  refused(unknown.error, "not_found");
  const users = await client.GET("/api/v1/users");
  status(users, 403);
  refused(users.error, "forbidden");
  const anon = await anonymous.GET("/api/v1/persons", { params: { query: { limit: 1 } } });
  status(anon, 401);
  refused(anon.error, "unauthenticated");
  const forged = await anonymous.GET("/api/v1/me", { headers: { Authorization: "Bearer vg_not-a-token" } });
  status(forged, 401);
  refused(forged.error, "invalid_token");
}

if (dpoToken) {
  const dpo = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${dpoToken}` } });
  dpo.use(conf.middleware);

  begin("DPO: erasure request, then erasure with its certificate");
  const req = await dpo.POST("/api/v1/rights_requests", { body: { person_id: id, type: "erasure", channel: "letter" } });
  status(req, 201);
  const requestID = req.data?.id ?? 0;
  check(requestID > 0 && req.data?.status === "open", "request not open");
  const queue = await dpo.GET("/api/v1/rights_requests/queue");
  status(queue, 200);
  check(queue.data?.items.some((q) => q.id === requestID && q.days_left !== null) === true, "request not in the DPO's queue with its clock");
  const identity = await dpo.POST("/api/v1/rights_requests/{id}/identity", { params: { path: { id: requestID } }, body: { identity_check: "known_contact" } });
  status(identity, 200);
  check(identity.data?.identity_check === "known_contact", "identity check not recorded");
  const cert = await dpo.POST("/api/v1/rights_requests/{id}/erase", { params: { path: { id: requestID } } });
  status(cert, 200);
  check(cert.data?.person_id === id && cert.data?.key_destroyed === true, "certificate does not destroy the person's key");
  check(typeof cert.data?.evidence === "string" && cert.data.evidence !== "", "certificate without evidence");
  const again = await dpo.POST("/api/v1/rights_requests/{id}/erase", { params: { path: { id: requestID } } });
  check(again.response.status === 400 || again.response.status === 409, `erasing twice: status ${again.response.status}, want 400 or 409`);

  begin("after the erasure: nothing left to read");
  const gone = await client.GET("/api/v1/persons", { params: { query: { email: fake.email } } });
  status(gone, 200);
  check(gone.data?.items.length === 0, "the erased person is still found by email");
  const read = await client.GET("/api/v1/persons/{id}", { params: { path: { id } } });
  check(read.response.status === 404 || read.data?.first_name === undefined, "the erased person's name is still readable");
} else {
  console.log("- DPO steps skipped: no VIGIE_DPO_TOKEN");
}

console.log(`${conf.checked.size} operation/status pairs checked against /api/v1/openapi.json`);
const problems = [...failures, ...conf.problems.map((p) => `document mismatch: ${p}`)];
if (problems.length > 0) {
  for (const p of problems) console.log(`FAIL ${p}`);
  process.exit(1);
}
console.log("PASS");
