"""Who owns what: the launch gate, per-policy mode overrides, shadow mode, the audit story
and the App Home tab. The kill switch itself lives in bot.control."""
