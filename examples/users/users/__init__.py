"""The Users reference service: routes in users.api, records in users.model, storage in users.store."""
