"""What the service-level area plugs into the kernel (its sweep's reminder kinds are added with it)."""
from portal.core.kernel import Area

AREA = Area(key="sla")
