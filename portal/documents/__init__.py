"""Letters, maintenance summaries and the archive (OA归档): documents generated as PDF by RQ jobs
(WeasyPrint, the shipped CJK font embedded), filed with their revisions, downloadable by the
archive's roles only."""
