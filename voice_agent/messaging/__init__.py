"""Channel-agnostic messaging rules: phone numbers, the customer service window, delivery statuses
and the choice of the party a conversation belongs to.

Pure logic: nothing in this package imports ``frappe`` (it is tested with pytest in CI, without a
site). The Frappe side reads documents, calls these functions and writes the results.

- ``phones``: E.164 normalisation (``phonenumbers``), WhatsApp ids, the stored forms to look up.
- ``window``: the 24-hour customer service window and what may be sent once it has closed.
- ``statuses``: monotonic delivery statuses (a late ``sent`` never undoes ``read``).
- ``parties``: which Contact / Lead / Customer / CRM record a number belongs to.
"""
