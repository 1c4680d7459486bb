"""The agents' channel: routed summaries, surge groups, human-readable reasons.

Kept apart from bot.service so the per-ticket path stays as it was when both
ROUTED_SUMMARY_SECONDS and SURGE_MIN_TICKETS are 0.
"""
