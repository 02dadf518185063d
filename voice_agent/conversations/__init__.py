"""WhatsApp conversations in the desk: who may see them, the parties they belong to, the shared inbox,
the messages of a record, the timeline. The provider's side (webhook, Graph, the send queue) is in
integrations/whatsapp/; the channel-independent rules (numbers, the 24-hour window, status order) in
messaging/."""
