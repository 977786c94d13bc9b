"""Who hears about events, and how: subscription matching, the outbox (deliveries table) and
its dispatcher, channels (Slack, email, signed webhooks, apprise), rendering, digests, and
loopback receivers for tests and the demo. A channel knows nothing of spiders."""
