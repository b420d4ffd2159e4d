from . import test_subscription_renewal
from . import test_success_pack
from . import test_portal_access
from . import test_portal_actions
from . import test_portal_queries
from . import test_tour_portal
