-- An access export and an erasure read and delete everything linked to one person: every table
-- holding a person's rows is indexed by person, and every foreign key between them is indexed so
-- that deleting a quote or a contract does not scan the tables that may point at it.
CREATE INDEX ticket_messages_person ON ticket_messages (person_id);
CREATE INDEX contracts_quote ON contracts (quote_id);
CREATE INDEX documents_contract ON documents (contract_id);
CREATE INDEX tickets_contract ON tickets (contract_id);
CREATE INDEX rights_requests_quote ON rights_requests (quote_id);
CREATE INDEX restrictions_request ON restrictions (request_id);
