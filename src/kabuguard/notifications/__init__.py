"""Customer notifications an attacker cannot silence: outbox, dispatcher, channels, freeze link."""
