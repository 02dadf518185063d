"""The WhatsApp bot's decisions, without Frappe (tested with pytest in CI, no site needed).

The Frappe glue (the job per inbound message, the doctypes, sending, notifications) reads documents,
calls these functions and writes what they return:

- ``context``: the system prompt and turns the model sees (window, truncation, media notes, the
  rolling summary), with the customer's text kept in user turns.
- ``language``: the customer's language from their recent messages and the reply language a profile
  allows.
- ``scoring``: explainable lead scoring from signals (rules, tools, checked model proposals).
- ``handover``: when to hand the conversation to a person, why (stable reason codes), and to whom.
- ``limits``: per-conversation and per-account rate and cost caps, and the cost of a reply.
"""
