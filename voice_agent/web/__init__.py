"""Helpers of the public web endpoints and pages (pure: never imports frappe): allowed origins and frame
policies, per-session secrets, analytics periods."""
