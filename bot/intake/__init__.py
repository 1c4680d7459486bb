"""Where tickets come from: files (CLI), the signed webhook, and (later) a helpdesk database."""
