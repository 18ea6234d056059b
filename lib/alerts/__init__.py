"""Alerts: incidents opened and resolved from the database state, posted once each to a
Slack-compatible incoming webhook (ALERT_WEBHOOK_URL), retried until delivered."""
