"""Registers a user on a fresh server and creates the records the schemathesis
configuration names (a contact, a company, a deal, a lead), then prints them
as shell `export` lines: TOKEN ORG USER_ID PIPE CONTACT COMPANY DEAL LEAD
FORM_KEY PROPERTY.

usage: seed.py http://127.0.0.1:PORT
"""
import json
import sys
import urllib.request

base = sys.argv[1].rstrip("/") + "/api/v1"


def call(method, path, body=None, token=None, org=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if org:
        request.add_header("X-Organization-Id", org)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


session = call("POST", "/auth/register", {
    "email": "fuzz@example.com",
    "password": "fuzzing-password-1",
    "name": "Fuzz",
    "organization_name": "Fuzz Inc",
})
token = session["access_token"]
org = session["organizations"][0]["id"]
user = call("GET", "/auth/me", token=token)["user"]["id"]
pipelines = call("GET", "/pipelines", token=token, org=org)["data"]
pipe = next(p["id"] for p in pipelines if p["is_default"])
company = call("POST", "/companies", {"name": "Seed Co"}, token, org)["id"]
contact = call("POST", "/contacts", {"name": "Seed Contact", "company_id": company}, token, org)["id"]
deal = call("POST", "/deals", {"title": "Seed deal", "contact_id": contact}, token, org)["id"]
lead = call("POST", "/leads", {"name": "Seed lead", "source": "website"}, token, org)["id"]
prop = call("POST", "/properties", {"title": "Seed property", "price": "100000"}, token, org)["id"]
form_key = call("POST", "/forms", {"name": "Seed form", "fields": [{"key": "name", "label": "Name"},
                                                                   {"key": "email", "label": "Email"}]},
                token, org)["public_key"]
# A custom field and a shared view, so their reads and changes have a record.
call("POST", "/custom-fields", {"object": "contacts", "key": "tier", "label": "Tier", "type": "select",
                                "options": ["gold", "silver"]}, token, org)
call("POST", "/views", {"object": "contacts", "name": "Seed view", "query": "sort=name", "shared": True}, token, org)
for name, value in [("TOKEN", token), ("ORG", org), ("USER_ID", user), ("PIPE", pipe),
                    ("CONTACT", contact), ("COMPANY", company), ("DEAL", deal), ("LEAD", lead),
                    ("FORM_KEY", form_key), ("PROPERTY", prop)]:
    print(f"export {name}={value}")
