"""The users of bench/load.py: customers who send print files and wait, operators who work
the queue. Run by locust in its own process (bench/load.py starts it); configured through
the environment:

- LOAD_WEB: the web processes' base URLs, comma-separated. Every user sends each request to
  the next one in turn, so one upload's chunks, one session's pages and one operator's actions
  all cross processes (no sticky sessions).
- LOAD_CUSTOMERS, LOAD_OPERATORS: how many of each (locust's --users is their sum).
- LOAD_OPERATOR_PASSWORD: the password of operators `operator0` ... (bench/load.py made them).
- LOAD_OUT: a folder; uploads.jsonl gets a line per finished upload (the name and the sha256
  the client computed) and stats.json the figures when the test stops.

Request names: "upload ..." for the tus requests (kept out of the p95), everything else by
page or API operation. Any 4xx or 5xx counts as an error, except where a test says otherwise.
"""

import stdlib_first  # noqa: F401  (first: bench/email.py must not shadow the stdlib)

# isort: split
import base64
import hashlib
import itertools
import json
import os
import random
import re
import struct
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from locust import HttpUser, between, events, task

WEB = os.environ.get("LOAD_WEB", "http://127.0.0.1:8000").split(",")
CUSTOMERS = int(os.environ.get("LOAD_CUSTOMERS", "50"))
OPERATORS = int(os.environ.get("LOAD_OPERATORS", "5"))
PASSWORD = os.environ.get("LOAD_OPERATOR_PASSWORD", "")
OUT = Path(os.environ.get("LOAD_OUT", "."))
CHUNK = 5 * 1024 * 1024  # what the browser uploader sends per PATCH (portal/request_form.py)
MIN_TRIANGLES, MAX_TRIANGLES = 100_000, (50_000_000 - 84) // 50  # 5 MB to 50 MB
ACCEPTING = 0.7  # the share of customers who accept the quote they get
TUS = {"Tus-Resumable": "1.0.0"}


def _triangles(count: int) -> bytes:
    """`count` valid binary STL records: small random triangles scattered in a 200 mm box
    (small, so the worker's preview stays cheap), zero normals, zero attribute bytes."""
    rng = np.random.default_rng(8)
    records = np.zeros(count, dtype=[("normal", "<f4", 3), ("v", "<f4", 9), ("attr", "<u2")])
    centres = rng.uniform(0, 200, (count, 1, 3)).astype("<f4")
    corners = centres + rng.uniform(-1, 1, (count, 3, 3)).astype("<f4")
    records["v"] = corners.reshape(count, 9)
    return records.tobytes()


# One pool for every file: a file is a header naming it (so each has its own sha256) and a run
# of the pool's records. Made once, before any user starts: building 50 MB per file inside the
# test would stall every user of this process while it ran, and show up as server latency.
POOL = memoryview(_triangles(MAX_TRIANGLES))


class StlFile:
    """A binary STL of 5-50 MB, read in chunks; `sha256` once every chunk has been read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.triangles = random.randint(MIN_TRIANGLES, MAX_TRIANGLES)
        self.size = 84 + 50 * self.triangles
        start = 50 * random.randint(0, MAX_TRIANGLES - self.triangles)
        header = f"printdesk load {name} {random.getrandbits(64):016x}".encode().ljust(80)
        self._head = header + struct.pack("<I", self.triangles)
        self._records = POOL[start : start + 50 * self.triangles]
        self._hash = hashlib.sha256()

    def chunk(self, offset: int) -> bytes:
        """The bytes from `offset`, at most CHUNK of them (hashed as they are handed out)."""
        if offset == 0:
            data = self._head + self._records[: CHUNK - 84]
        else:
            data = bytes(self._records[offset - 84 : offset - 84 + CHUNK])
        self._hash.update(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class RoundRobin(HttpUser):
    """A user whose requests go to each web process in turn."""

    abstract = True
    host = WEB[0]

    def on_start(self) -> None:
        self._next_web = itertools.cycle(random.sample(WEB, len(WEB)))
        # A connection per request, as a reverse proxy opens to its upstream by default
        # (nginx). Kept alive, a connection idles while the user waits or talks to the other
        # process, and gunicorn closes it after its keep-alive (GUNICORN_KEEPALIVE, 5 s): the
        # next request on it may cross that close and be reset, which a browser would retry
        # without telling anyone but locust counts as an error.
        self.client.headers["Connection"] = "close"

    def url(self, path: str) -> str:
        return next(self._next_web) + path


# --- customers ----------------------------------------------------------------------------------

_customer_numbers = itertools.count()


class Customer(RoundRobin):
    """Sends a request with 1-3 files over tus, then watches its status page and the customer
    API every few seconds; most accept the quote when it comes."""

    fixed_count = CUSTOMERS
    wait_time = between(2, 5)

    def on_start(self) -> None:
        super().on_start()
        self.number = next(_customer_numbers)
        # Behind the (simulated) reverse proxy, each customer has its own address: the
        # per-address limit on the public forms counts them apart, as it would in production.
        self.client.headers["X-Forwarded-For"] = f"10.8.{self.number // 250}.{self.number % 250}"
        self.secret = ""
        self.accepts = random.random() < ACCEPTING
        self.decided = False

    @task
    def tick(self) -> None:
        if not self.secret:
            self.send_request()
        else:
            self.poll()

    def send_request(self) -> None:
        page = self.client.get(self.url("/"), name="page: request form")
        fields = {name: _hidden(page.text, name) for name in ("csrfmiddlewaretoken", "draft")}
        upload_token = _attribute(page.text, "data-upload-token")
        catalogue = self.client.get(self.url("/api/v1/catalogue"), name="api: catalogue").json()
        material = random.choice(catalogue["materials"])
        for n in range(random.randint(1, 3)):
            if not self.upload(StlFile(f"c{self.number:03d}-part{n + 1}.stl"), upload_token):
                return  # counted as an error; a new form next time
        form = {
            **fields,
            "customer_name": f"Load Customer {self.number}",
            "customer_email": f"customer{self.number}@load.test",
            "customer_phone": "",
            "customer_company": "",
            "material": str(material["id"]),
            "colour": random.choice(material["colours"] or [""]),
            "quantity": str(random.randint(1, 4)),
            "desired_date": "",
            "notes": "Sent by bench/load.py",
            "website": "",
        }
        # The confirmation after the redirect shows the private link (read from the session,
        # which lives in the database: either process can show it).
        with self.client.post(
            self.url("/"), data=form, name="page: send request", catch_response=True
        ) as answer:
            found = re.search(r"/j/([A-Za-z0-9_-]{20,})/", answer.text)
            if answer.status_code != 200 or found is None:
                answer.failure(f"no private link after sending ({answer.status_code})")
                return
            self.secret = found.group(1)

    def upload(self, stl: StlFile, token: str) -> bool:
        """Creation, then PATCH chunks as the uploader does; the status must give back the
        client's sha256. Writes the name and sha256 to uploads.jsonl."""
        auth = {**TUS, "Upload-Token": token}
        metadata = "filename " + base64.b64encode(stl.name.encode()).decode()
        created = self.client.post(
            self.url("/uploads/"),
            headers={**auth, "Upload-Length": str(stl.size), "Upload-Metadata": metadata},
            name="upload: create",
        )
        # Only the path: the next request may go to the other process.
        location = urlsplit(created.headers.get("Location", "")).path
        if created.status_code != 201 or not location:
            return False
        offset = 0
        while offset < stl.size:
            data = stl.chunk(offset)
            patched = self.client.patch(
                self.url(location),
                data=data,
                headers={
                    **auth,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
                name="upload: PATCH chunk",
            )
            if patched.status_code != 204:
                return False
            offset += len(data)
        with self.client.get(
            self.url(location + "status"),
            headers={"Upload-Token": token},
            name="upload: status",
            catch_response=True,
        ) as status:
            got = status.json() if status.status_code == 200 else {}
            if got.get("state") != "complete" or got.get("sha256") != stl.sha256:
                status.failure(f"{stl.name}: not stored intact: {got}")
                return False
        with (OUT / "uploads.jsonl").open("a") as out:
            out.write(json.dumps({"name": stl.name, "sha256": stl.sha256}) + "\n")
        return True

    def poll(self) -> None:
        self.client.get(self.url(f"/j/{self.secret}/"), name="page: status")
        job = self.client.get(
            self.url("/api/v1/customer/job"),
            headers={"X-Job-Link": self.secret},
            name="api: customer job",
        ).json()
        quote = job.get("quote")
        if self.accepts and not self.decided and job.get("state") == "quoted" and quote:
            self.decided = True
            self.client.post(
                self.url("/api/v1/customer/job/accept"),
                json={"quote_version": quote["version"], "expected_version": job["version"]},
                headers={"X-Job-Link": self.secret},
                name="api: customer accept",
            )


# --- operators ----------------------------------------------------------------------------------

_operator_numbers = itertools.count()
# What an operator does next with a job in each state (in_production depends on its runs).
WORK_STATES = ("submitted", "accepted", "in_production", "ready")


class Operator(RoundRobin):
    """Logs in to the desk (pages) and takes an API token (actions), then works the queue: each
    round opens the queue, picks a job that needs something, opens it and does the next step.

    Each operator takes the jobs whose number leaves its own remainder (a bureau splitting the
    queue), so two operators never race for one job: any 409 is then a real error."""

    fixed_count = OPERATORS
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.number = next(_operator_numbers)
        self.username = f"operator{self.number}"
        self.client.headers["X-Forwarded-For"] = f"10.9.0.{self.number}"
        login = self.client.get(self.url("/desk/login/"), name="page: desk login")
        self.client.post(
            self.url("/desk/login/"),
            data={
                "csrfmiddlewaretoken": _hidden(login.text, "csrfmiddlewaretoken"),
                "username": self.username,
                "password": PASSWORD,
            },
            name="page: desk log in",
        )
        token = self.client.post(
            self.url("/api/v1/auth/token"),
            json={"username": self.username, "password": PASSWORD, "name": "load"},
            name="api: token",
        ).json()["token"]
        self.api = {"Authorization": f"Bearer {token}"}
        catalogue = self.client.get(self.url("/api/v1/catalogue"), name="api: catalogue").json()
        self.materials = {m["name"]: m["id"] for m in catalogue["materials"]}

    @task
    def work(self) -> None:
        self.client.get(self.url("/desk/"), name="page: desk queue")
        query = "&".join(f"state={state}" for state in WORK_STATES)
        queue = self.client.get(
            self.url(f"/api/v1/jobs?{query}&sort=created&page_size=200"),
            headers=self.api,
            name="api: jobs",
        ).json()
        mine = [job for job in queue["items"] if self._mine(job["reference"])]
        if not mine:
            return
        reference = random.choice(mine)["reference"]
        self.client.get(self.url(f"/desk/jobs/{reference}/"), name="page: desk job")
        job = self.client.get(
            self.url(f"/api/v1/jobs/{reference}"), headers=self.api, name="api: job"
        ).json()
        self.next_step(job)

    def _mine(self, reference: str) -> bool:
        return int(reference.split("-")[-1]) % OPERATORS == self.number % OPERATORS

    def next_step(self, job: dict) -> None:
        state, version = job["state"], job["version"]
        if state == "submitted":
            self.act(job, "quotes", self._quote(job), "api: send quote")
        elif state == "accepted":
            self.act(job, "start-production", {"expected_version": version}, "api: start")
        elif state == "in_production":
            self.produce(job)
        elif state == "ready":
            body = {"method": "carrier", "carrier": "DHL", "tracking_number": "LOAD"}
            self.act(job, "dispatch", {**body, "expected_version": version}, "api: dispatch")

    def produce(self, job: dict) -> None:
        """One run for the whole quantity, moved to printing then done; then ready."""
        version = job["version"]
        open_runs = [run for run in job["runs"] if run["state"] in ("queued", "printing")]
        if open_runs:
            run = open_runs[0]
            moved = "printing" if run["state"] == "queued" else "done"
            body = {"state": moved, "expected_version": version}
            self.act(job, f"runs/{run['id']}", body, "api: move run")
        elif job["production"]["owed"] > 0:
            body = {"quantity": job["production"]["owed"], "expected_version": version}
            self.act(job, "runs", body, "api: add run")
        else:
            self.act(job, "ready", {"expected_version": version}, "api: ready")

    def _quote(self, job: dict) -> dict:
        lines = [
            {
                "description": file["name"],
                "material_id": self.materials[job["material"]],
                "colour": job["colour"],
                "quantity": job["quantity"],
                "unit_price": f"{random.randint(5, 80)}.00",
                "file_id": file["id"],
            }
            for file in job["files"]
        ]
        return {
            "lines": lines,
            "lead_time_days": 5,
            "valid_until": (date.today() + timedelta(days=14)).isoformat(),
            "message": "Thank you for your request.",
            "expected_version": job["version"],
        }

    def act(self, job: dict, action: str, body: dict, name: str) -> None:
        self.client.post(
            self.url(f"/api/v1/jobs/{job['reference']}/{action}"),
            json=body,
            headers=self.api,
            name=name,
        )


# --- helpers and the figures ----------------------------------------------------------------------


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else ""


def _attribute(html: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', html)
    return found.group(1) if found else ""


@events.test_stop.add_listener
def _save_figures(environment, **_kwargs) -> None:
    stats = environment.stats
    figures = {
        "entries": [entry.serialize() for entry in stats.entries.values()],
        "errors": [error.serialize() for error in stats.errors.values()],
        # A task that raised (say, a JSON body that was not JSON) is no request failure to
        # locust; the bench counts it as an error all the same.
        "exceptions": [
            {"count": found["count"], "msg": found["msg"]}
            for found in environment.runner.exceptions.values()
        ],
    }
    (OUT / "stats.json").write_text(json.dumps(figures))
