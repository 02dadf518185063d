"""Pure logic of desk calling (no frappe import): state machine, call tokens,
call-event validation, durations and quality. Tested with pytest in CI."""
