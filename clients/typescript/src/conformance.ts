// Checks every answer the generated client receives against the OpenAPI document the server serves:
// the status must be one the operation documents, and a JSON body must match the documented schema
// (JSON Schema 2020-12, as OpenAPI 3.1 uses). The type check (tsc) proves the scenario agrees with
// the document; this proves the server's real answers do too.
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { Middleware } from "openapi-fetch";

// ajv-formats is CommonJS: imported from an ES module, its plugin is the module's default member.
const addFormats = formats.default;

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
type Document = { paths: Record<string, Record<string, Operation>> };

const documentID = "https://vigie.invalid/api/v1/openapi.json";

export type Conformance = {
  middleware: Middleware;
  /** Problems found so far: operation, status and what does not match (never a value). */
  problems: string[];
  /** Operations checked, as "METHOD /path status". */
  checked: Set<string>;
};

export async function conformance(baseUrl: string): Promise<Conformance> {
  const res = await fetch(new URL("/api/v1/openapi.json", baseUrl));
  if (res.status !== 200) {
    throw new Error(`GET /api/v1/openapi.json: status ${res.status}`);
  }
  const doc = (await res.json()) as Document & Record<string, unknown>;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat("password", true);
  ajv.addFormat("binary", true);
  ajv.addSchema({ ...doc, $id: documentID });

  const problems: string[] = [];
  const checked = new Set<string>();
  const pointer = (...parts: string[]) =>
    "#/" + parts.map((p) => encodeURIComponent(p.replaceAll("~", "~0").replaceAll("/", "~1"))).join("/");

  const middleware: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const method = request.method.toLowerCase();
      const status = String(response.status);
      const name = `${request.method} ${schemaPath} ${status}`;
      checked.add(name);
      const documented = doc.paths[schemaPath]?.[method]?.responses?.[status];
      if (!documented) {
        problems.push(`${name}: status not documented for this operation`);
        return undefined;
      }
      const body = await response.clone().text();
      const type = response.headers.get("Content-Type") ?? "";
      if (!documented.content) {
        if (body !== "") problems.push(`${name}: documented without a body, answered one`);
        return undefined;
      }
      if (!type.startsWith("application/json")) {
        if (!documented.content[type.split(";")[0] ?? ""]) problems.push(`${name}: Content-Type ${type} not documented`);
        return undefined;
      }
      if (!documented.content["application/json"]?.schema) {
        problems.push(`${name}: JSON answer, but the document has no JSON schema for it`);
        return undefined;
      }
      const validate = ajv.compile({
        $ref: documentID + pointer("paths", schemaPath, method, "responses", status, "content", "application/json", "schema"),
      });
      if (!validate(JSON.parse(body))) {
        for (const e of validate.errors ?? []) {
          // instancePath and the schema keyword name where it fails; the value is never printed.
          problems.push(`${name}: body${e.instancePath || " (root)"} ${e.keyword} ${JSON.stringify(e.params)}`);
        }
      }
      return undefined;
    },
  };
  return { middleware, problems, checked };
}
