"""Every model, imported in one place so Alembic and the app see the whole schema."""
from portal.auth.models import Department, User, UserRole  # noqa: F401
from portal.customers.models import Contact, Contract, CustomerUnit, MaintenanceStatusChange  # noqa: F401
from portal.hotline.models import DutyShift, HotlineRecord  # noqa: F401
from portal.notifications.models import Notification, Reminder  # noqa: F401
from portal.jobs.models import OutboxMessage  # noqa: F401
from portal.tickets.models import Attachment, Callback, Event, Ticket, TicketAssignee, TicketLink  # noqa: F401
import portal.search  # noqa: F401,E402  (keeps the search index in step with every ORM write)
from portal.documents.models import Document, Letterhead  # noqa: F401,E402
from portal.handover.models import Handover, HandoverCall  # noqa: F401,E402
from portal.complaints.models import Complaint, ComplaintEvent  # noqa: F401,E402
from portal.metrics.models import (  # noqa: F401,E402
    DailyFigures, MonthlyFigures, RefreshState, TicketFact, WorkCalendarDay,
)
from portal.sla.models import ServiceClock  # noqa: F401,E402
from portal.replies.models import Reply, ReplyRevision  # noqa: F401,E402
from portal.core.policy_store import PolicyChange, PolicyValue  # noqa: F401,E402
from portal.core.workcalendar import CalendarDay  # noqa: F401,E402
from portal.visits.models import Visit, VisitCompanion, VisitEvent  # noqa: F401,E402
from portal.kb.models import Article, ArticleAttachment, ArticleRevision, ArticleTicket  # noqa: F401,E402
import portal.kb.index  # noqa: F401,E402  (keeps the knowledge base's search index in step with its articles)
from portal.kb_work.models import ArticleAnswer, ArticleViewDay, ArticleVote  # noqa: F401,E402
