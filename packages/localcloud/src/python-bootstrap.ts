/**
 * The bootstrap localcloud's Python runtime runs (`python3 -c BOOTSTRAP`), as Lambda's own runtime does for a
 * `python3.x` function: it reads the event from stdin, imports `module.function` from the code directory (first on
 * sys.path), calls it with the event and a context, and writes `{"ok": true, "result": …}` or
 * `{"ok": false, "errorType", "errorMessage", "stackTrace"}` (Lambda's error payload) on file descriptor 3.
 * Whatever the function prints goes to stdout/stderr, which localcloud keeps as the invocation's log.
 *
 * Local-stage specifics, set up before the function is imported:
 * - boto3 talks to localcloud: botocore's `Session.create_client` defaults `endpoint_url` to LOCALCLOUD_ENDPOINT
 *   (and path-style addressing for S3), because older boto3 (Debian bookworm's 1.26) ignores AWS_ENDPOINT_URL.
 * - Virtual time: `time.time`, `time.monotonic`, `datetime.now()/utcnow()/today()` read localcloud's virtual clock
 *   (real time plus LOCALCLOUD_CLOCK_OFFSET_MS) plus the time the function slept. The function's timeout counts on
 *   that clock, so a sleep past it ends the invocation with Lambda's "Task timed out" error. What `time.sleep` does
 *   depends on how localcloud's clock moves (LOCALCLOUD_CLOCK_MODE), so that a script that polls (a sleep loop, a
 *   boto3 waiter) sees what happens on the clock meanwhile (an instance stopping, a DB instance modified):
 *   - `driven` (tickMs 0: the clock moves only when told, as in tests): the sleep returns at once and asks
 *     localcloud to move its clock forward to the time the function wakes at (`POST /_localcloud/clock
 *     {"atLeast": …}`), running what falls due on the way; the function then reads the clock localcloud answers,
 *     which is later still when something else moved it meanwhile. Concurrent sleepers wake at their own times,
 *     they do not add up.
 *   - `realtime` (`npm start`: the clock ticks with real time): the sleep waits for real, as in Lambda.
 */
export const PYTHON_BOOTSTRAP = String.raw`
import datetime as _dt, importlib, json, os, sys, time, traceback, urllib.request

_result_fd = 3
_real_time, _real_mono, _real_sleep = time.time, time.monotonic, time.sleep
_offset = float(os.environ.get('LOCALCLOUD_CLOCK_OFFSET_MS') or '0') / 1000.0
_slept = [0.0]
_started = _real_mono()
_timeout = float(os.environ.get('AWS_LAMBDA_FUNCTION_TIMEOUT') or '3')


class _FunctionTimedOut(BaseException):
    pass


def _vtime():
    return _real_time() + _offset + _slept[0]


def _vmono():
    return _real_mono() + _slept[0]


def _remaining():
    return _timeout - (_vmono() - _started)


_clock_mode = os.environ.get('LOCALCLOUD_CLOCK_MODE') or 'driven'


def _clock_reached(at_seconds):
    # Asks localcloud to move its clock to at least at_seconds (epoch); answers the time it then reads.
    body = json.dumps({'atLeast': _RealDatetime.fromtimestamp(at_seconds, _dt.timezone.utc).isoformat()}).encode('utf-8')
    request = urllib.request.Request(os.environ['LOCALCLOUD_ENDPOINT'].rstrip('/') + '/_localcloud/clock', data=body, method='POST', headers={'content-type': 'application/json'})
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read().decode('utf-8'))
    return _RealDatetime.fromisoformat(answer['now'].replace('Z', '+00:00')).timestamp()


def _pass_time(seconds):
    if _clock_mode == 'realtime':
        _real_sleep(seconds)
        return
    _slept[0] += seconds
    if _clock_mode != 'driven' or seconds <= 0 or not os.environ.get('LOCALCLOUD_ENDPOINT'):
        return
    try:
        now = _clock_reached(_vtime())
    except Exception as e:
        sys.stderr.write('localcloud: could not move the clock for a sleep of %gs: %s\n' % (seconds, e))
        return
    global _offset
    if now > _vtime():
        _offset += now - _vtime()


def _vsleep(seconds):
    if seconds < 0:
        raise ValueError('sleep length must be non-negative')
    if seconds > _remaining():
        _pass_time(max(0.0, _remaining()))
        raise _FunctionTimedOut()
    _pass_time(seconds)


time.time = _vtime
time.time_ns = lambda: int(_vtime() * 1e9)
time.monotonic = _vmono
time.monotonic_ns = lambda: int(_vmono() * 1e9)
time.sleep = _vsleep

_RealDatetime = _dt.datetime


class _VirtualDatetime(_RealDatetime):
    @classmethod
    def now(cls, tz=None):
        d = _RealDatetime.fromtimestamp(_vtime(), tz)
        return cls(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.tzinfo)

    @classmethod
    def utcnow(cls):
        d = _RealDatetime.fromtimestamp(_vtime(), _dt.timezone.utc)
        return cls(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond)

    @classmethod
    def today(cls):
        return cls.now()


_dt.datetime = _VirtualDatetime


def _point_boto_at_localcloud():
    endpoint = os.environ.get('LOCALCLOUD_ENDPOINT')
    try:
        import botocore.config
        import botocore.session
    except ImportError:
        return
    original = botocore.session.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        if endpoint and len(args) < 5 and kwargs.get('endpoint_url') is None:
            kwargs['endpoint_url'] = endpoint
        if service_name == 's3':
            path_style = botocore.config.Config(s3={'addressing_style': 'path'})
            config = kwargs.get('config')
            kwargs['config'] = config.merge(path_style) if config is not None else path_style
        return original(self, service_name, *args, **kwargs)

    botocore.session.Session.create_client = create_client


class _Context:
    def __init__(self):
        self.function_name = os.environ.get('AWS_LAMBDA_FUNCTION_NAME', '')
        self.function_version = '$LATEST'
        self.invoked_function_arn = os.environ.get('LOCALCLOUD_FUNCTION_ARN', '')
        self.memory_limit_in_mb = os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '128')
        self.aws_request_id = os.environ.get('LOCALCLOUD_REQUEST_ID', '')
        self.log_group_name = '/aws/lambda/' + self.function_name
        self.log_stream_name = 'local/' + self.aws_request_id

    def get_remaining_time_in_millis(self):
        return max(0, int(_remaining() * 1000))


def _answer(outcome):
    data = json.dumps(outcome).encode('utf-8')
    with os.fdopen(_result_fd, 'wb') as out:
        out.write(data)


def _failure(e):
    return {
        'ok': False,
        'errorType': type(e).__name__,
        'errorMessage': str(e),
        'stackTrace': traceback.format_list(traceback.extract_tb(e.__traceback__)),
    }


def _main():
    handler = os.environ['_HANDLER']
    module_name, _, function_name = handler.rpartition('.')
    sys.path.insert(0, os.environ['LAMBDA_TASK_ROOT'])
    try:
        _point_boto_at_localcloud()
        event = json.loads(sys.stdin.read() or 'null')
        if not module_name:
            raise ValueError('Bad handler ' + handler + ': the handler must be module.function')
        function = getattr(importlib.import_module(module_name), function_name)
        result = function(event, _Context())
        try:
            json.dumps(result)
        except (TypeError, ValueError) as e:
            _answer({'ok': False, 'errorType': 'Runtime.MarshalError', 'errorMessage': 'Unable to marshal response: ' + str(e), 'stackTrace': []})
            return
        _answer({'ok': True, 'result': result})
    except _FunctionTimedOut:
        _answer({'ok': False, 'timedOut': True})
    except Exception as e:
        _answer(_failure(e))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


_main()
`;
