"""Waiting tickets on thermal ESC/POS printers: what is printed, and how the bytes reach the printer."""
