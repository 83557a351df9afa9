"""aws:executeScript's runner: runs one step's inline Python script as AWS Systems Manager Automation does.

The runbook worker invokes this function (Lambda, python3.12; boto3 from the runtime, nothing else) with

    {"Runtime": "python3.11", "Handler": "script_handler", "Script": "def script_handler(events, context): ...",
     "InputPayload": {...}, "RoleArn": "arn:aws:iam::123456789012:role/...", "RoleSessionName": "opsauto-runbook-...",
     "TimeoutSeconds": 600, "Region": "us-east-1", "ExecutionId": "...", "StepName": "..."}

It assumes RoleArn (its own role may do nothing else) and makes those credentials the default boto3 session and the
process's AWS_* variables while the script runs, so every client the script makes acts as the execution's role and
never as the runner. It runs `Handler(InputPayload, context)` and answers

    {"Payload": <what the handler returned>, "Logs": "<print output>"}                      on success
    {"Error": {"Type": "ValueError", "Message": "..."}, "Logs": "..."}                       when the script raised
    {"Error": {"Type": "SystemExit", "Message": "<exit's message>"}, "Logs": "..."}          when it called exit()
    {"Error": {"Type": "TimedOut", "Message": "..."}, "TimedOut": true, "Logs": "..."}       past TimeoutSeconds

A malformed request or a role that cannot be assumed fails the invocation itself (a Lambda function error).
"""
import contextlib
import io
import json
import os
import re
import signal
import time
import traceback

import boto3

# AWS: "Up to 100KB is returned" of the payload.
MAX_PAYLOAD_BYTES = 100 * 1024
# The print output kept as the step's log.
MAX_LOG_CHARS = 64 * 1024
# AWS's longest aws:executeScript step.
MAX_TIMEOUT_SECONDS = 600
RUNTIME = re.compile(r'^python3\.\d{1,2}$')
CREDENTIAL_VARIABLES = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE')


class ScriptTimedOut(BaseException):
    """Raised into the script at its timeout; a BaseException, so that `except Exception` in a script cannot keep it."""


class BoundedLog(io.TextIOBase):
    """A text stream that keeps the first MAX_LOG_CHARS characters written to it and says how many it dropped."""

    def __init__(self):
        super().__init__()
        self.parts = []
        self.kept = 0
        self.dropped = 0

    def writable(self):
        return True

    def write(self, text):
        room = MAX_LOG_CHARS - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self):
        out = ''.join(self.parts)
        return out + ('\n[%d more characters of output not kept]' % self.dropped if self.dropped else '')


def _require(event, name, kind):
    value = event.get(name)
    if not isinstance(value, kind) or (isinstance(value, str) and not value):
        raise ValueError('%s is required (%s)' % (name, 'a non-empty string' if kind is str else kind.__name__))
    return value


@contextlib.contextmanager
def _as_role(credentials, region):
    """The role's credentials as the default session and the AWS_* variables, restored afterwards."""
    saved = {name: os.environ.get(name) for name in CREDENTIAL_VARIABLES + ('AWS_REGION', 'AWS_DEFAULT_REGION')}
    saved_session = boto3.DEFAULT_SESSION
    try:
        os.environ.pop('AWS_PROFILE', None)
        os.environ['AWS_ACCESS_KEY_ID'] = credentials['AccessKeyId']
        os.environ['AWS_SECRET_ACCESS_KEY'] = credentials['SecretAccessKey']
        os.environ['AWS_SESSION_TOKEN'] = credentials['SessionToken']
        os.environ['AWS_REGION'] = region
        os.environ['AWS_DEFAULT_REGION'] = region
        boto3.setup_default_session(
            aws_access_key_id=credentials['AccessKeyId'],
            aws_secret_access_key=credentials['SecretAccessKey'],
            aws_session_token=credentials['SessionToken'],
            region_name=region,
        )
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        boto3.DEFAULT_SESSION = saved_session


@contextlib.contextmanager
def _deadline(seconds):
    """Stops the script after `seconds`: a sleep that would pass the deadline, or a real-time alarm (busy code)."""
    deadline = time.monotonic() + seconds
    original_sleep = time.sleep

    def sleep(secs):
        left = deadline - time.monotonic()
        if secs > left:
            original_sleep(max(0.0, left))
            raise ScriptTimedOut()
        original_sleep(secs)

    def alarm(signum, frame):
        raise ScriptTimedOut()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    time.sleep = sleep
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        time.sleep = original_sleep


def _script_line(e):
    """The line of the script where the exception was raised (the innermost frame in the script), or None."""
    where = [frame for frame in traceback.extract_tb(e.__traceback__) if frame.filename == '<script>']
    return where[-1].lineno if where else None


def _exit_message(code):
    """What exit(code) says: its message (exit('text') prints the text and exits with status 1), or its status."""
    if code is None or isinstance(code, int):
        return 'the script called exit() with status %d' % (code or 0)
    return str(code)


def handler(event, context):
    if not isinstance(event, dict):
        raise ValueError('the event must be an object with Runtime, Handler, Script, InputPayload and RoleArn')
    runtime = _require(event, 'Runtime', str)
    if not RUNTIME.match(runtime):
        raise ValueError('Runtime %s is not a Python runtime (python3.x)' % runtime)
    script = _require(event, 'Script', str)
    handler_name = _require(event, 'Handler', str)
    role_arn = _require(event, 'RoleArn', str)
    region = event.get('Region') or os.environ.get('AWS_REGION')
    session_name = event.get('RoleSessionName') or 'opsauto-execute-script'
    timeout = event.get('TimeoutSeconds', MAX_TIMEOUT_SECONDS)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError('TimeoutSeconds must be a positive number')
    timeout = min(float(timeout), MAX_TIMEOUT_SECONDS)
    payload = event.get('InputPayload')
    if payload is None:
        payload = {}

    # With the runner's own credentials, once: nothing else is done as the runner.
    credentials = boto3.client('sts', region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=900
    )['Credentials']

    log = BoundedLog()
    outcome = {}
    started = time.monotonic()
    with _as_role(credentials, region), contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            with _deadline(timeout):
                namespace = {'__name__': 'ssm_script'}
                exec(compile(script, '<script>', 'exec'), namespace)
                function = namespace.get(handler_name)
                if not callable(function):
                    raise NameError('the script defines no function named %s (Handler)' % handler_name)
                script_context = {
                    'automation:EXECUTION_ID': event.get('ExecutionId', ''),
                    'automation:STEP_NAME': event.get('StepName', ''),
                    'global:REGION': region,
                }
                outcome['Payload'] = function(payload, script_context)
        except ScriptTimedOut:
            outcome = {
                'Error': {'Type': 'TimedOut', 'Message': 'the script ran past the step timeout of %g seconds' % timeout},
                'TimedOut': True,
            }
        except SystemExit as e:  # exit('message') or sys.exit(n): the script stops without returning; the step fails
            outcome = {'Error': {'Type': 'SystemExit', 'Message': _exit_message(e.code), 'Line': _script_line(e)}}
        except Exception as e:  # the script's own failure: the step fails with it
            outcome = {'Error': {'Type': type(e).__name__, 'Message': str(e), 'Line': _script_line(e)}}
    if 'Payload' in outcome:
        text = json.dumps(outcome['Payload'], default=str)
        if len(text.encode('utf-8')) > MAX_PAYLOAD_BYTES:
            outcome = {'Error': {'Type': 'PayloadTooLarge', 'Message': 'the script returned %d bytes of JSON; at most %d are returned' % (len(text.encode('utf-8')), MAX_PAYLOAD_BYTES)}}
        else:
            outcome['Payload'] = json.loads(text)
    outcome['Logs'] = log.text()
    outcome['DurationSeconds'] = round(time.monotonic() - started, 3)
    return outcome
