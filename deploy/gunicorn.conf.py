"""gunicorn settings of an app host (`make serve` starts several: deploy/stack.py; in
production `gunicorn -c deploy/gunicorn.conf.py wsgi:app` on each host, behind nginx).

Every value can be overridden from the environment (GUNICORN_CMD_ARGS also works).

- workers: WEB_CONCURRENCY, default 2 x CPU cores + 1 (sync workers: one request at a time
  each; nginx answers the repeated public pages from its cache, so the workers render only
  what changed, what nobody asked for yet, and every signed-in page).
- bind: BIND, default 127.0.0.1:8000 (nginx in front: deploy/nginx.conf); deploy/stack.py
  passes a listening socket instead (--bind fd://N).
- timeout: a worker silent for 30 s is killed and replaced (nginx waits 35 s, then tries the
  next host); graceful_timeout: 30 s to finish requests on restart or reload; keepalive: 5 s
  behind a proxy.
- access log: the app writes one JSON line per request itself (app/ops.py, REQUEST_LOG), so
  gunicorn's own access log is off unless ACCESS_LOG names a file ("-" = stdout); the error
  log goes to standard error.
- max_requests (+ jitter): MAX_REQUESTS, default 1,000,000 per worker: recycles workers now and
  then, bounding any slow memory growth; a recycled worker imports the app again (a core for
  about a second), so not much lower.
- limit_request_line: 8190 bytes (gunicorn's largest). The app answers request targets over
  4096 bytes with the site's own 414 page (app/params.py, MAX_REQUEST_TARGET); lines longer
  than 8190 bytes are refused by gunicorn's bare 414, or, behind nginx, by nginx first (its
  large_client_header_buffers, 8 KB by default): the proxy's job.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
max_requests = int(os.environ.get("MAX_REQUESTS", 1_000_000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Behind a proxy on the same host or network: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
