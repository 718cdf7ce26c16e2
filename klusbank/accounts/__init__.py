"""Users, roles, logins, invitations and API tokens."""
