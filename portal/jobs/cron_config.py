"""Schedules for `rq cron portal.jobs.cron_config` (run exactly one such process).

Every schedule is an interval: RQ fires interval jobs once at start, so a restart catches up
at once, and each sweep works from due dates in the database, so running one more often (or
twice) only re-checks and never duplicates. Dates are computed in Asia/Shanghai by the code.
"""
from rq import cron

from portal.customers.jobs import sweep_contract_expiry
from portal.hotline.jobs import check_duty_roster, check_duty_check_ins
from portal.kb.jobs import sweep_stale_articles
from portal.jobs.maintenance import drain_outbox, resend_lost_jobs
from portal.kb_work.jobs import roll_up_kb_views
from portal.metrics.jobs import rebuild_metrics, refresh_metrics
from portal.service_plan.jobs import sweep_service_plan
from portal.sla.sweep import sweep_service_clocks
from portal.signals.jobs import sweep_monthly_satisfaction
from portal.tickets.jobs import sweep_ticket_reminders

cron.register(drain_outbox, queue_name="default", interval=30, job_timeout=120)
cron.register(resend_lost_jobs, queue_name="default", interval=60, job_timeout=120)
cron.register(sweep_ticket_reminders, queue_name="default", interval=600, job_timeout=600)
# Service promises counted in hours: a reminder before and an escalation at the limit, within a minute.
cron.register(sweep_service_clocks, queue_name="default", interval=60, job_timeout=120)
cron.register(check_duty_roster, queue_name="default", interval=900, job_timeout=120)
cron.register(sweep_service_plan, queue_name="default", interval=3600, job_timeout=1800)
cron.register(sweep_contract_expiry, queue_name="default", interval=3600, job_timeout=600)
# 签到 is due 10 minutes into a shift: checked every 2 minutes so the duty manager hears of it in time.
cron.register(check_duty_check_ins, queue_name="default", interval=120, job_timeout=120)
cron.register(sweep_monthly_satisfaction, queue_name="default", interval=3600, job_timeout=300)
# Dashboard figures: what changed, every 5 minutes; everything once a day (the safety net).
cron.register(refresh_metrics, queue_name="default", interval=300, job_timeout=1800)
cron.register(rebuild_metrics, queue_name="default", interval=86400, job_timeout=3600)
cron.register(sweep_stale_articles, queue_name="default", interval=3600, job_timeout=600)
# Knowledge-base article views counted in Redis, added to the database (issue 16).
cron.register(roll_up_kb_views, queue_name="default", interval=300, job_timeout=600)
