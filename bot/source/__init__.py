"""The helpdesk database source: poll a legacy SQL database read-only for new tickets.

Modules: query (refuse anything but one SELECT), reader (read-only, streamed rows),
clean (messy values into TicketIn), times (mixed timestamp formats), state (watermark,
lease, health in the bot's store), poller (one exactly-once poll), outcomes (response and
resolution times for metrics), jobs/health (serve integration).
"""
