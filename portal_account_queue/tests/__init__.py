from . import test_renewal_queue
from . import test_renewal_queue_concurrency
