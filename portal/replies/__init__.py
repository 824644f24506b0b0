"""Standard replies (常用语): shared and personal texts for the deadline call, the callback script, the
consultation answer and the hotline greeting, filled from a ticket and inserted into any action form."""
