"""The knowledge base where the work is (issue 16, items 4 and 6): articles suggested while 客服 types a
problem at intake or on the hotline and beside a ticket for those who solve it, consultations answered by
sending an article (through the ticket workflow's `answer`), and what the knowledge base is worth — views,
staff votes, answers and repeat problems, on the article page and the dashboard.

The articles themselves, their review and their search are portal/kb's."""
