from . import portal
from . import subscription
from . import account
from . import helpdesk
from . import success_pack
