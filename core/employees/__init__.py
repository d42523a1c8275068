"""Employee sync: HRMS employees to terminal users (issue 7)."""
