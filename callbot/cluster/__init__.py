"""Many callbot processes behind Asterisk: a control role and workers sharing PostgreSQL."""
