"""Who is calling and what they did: logins (staff password, head SMS code), sessions, staff accounts, and
the audit log (操作日志) that every change and every login writes to."""
