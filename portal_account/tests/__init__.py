from . import test_subscription_renewal
from . import test_success_pack
from . import test_portal_access
