"""`manage.py load_demo`: a bureau to click through, safe to run on every start.

Steps:
1. materials and printers, created by name when missing (edits made in the admin are kept);
2. the `admin` (superuser) and `operator` (staff) accounts, each given a fresh random
   password on every run, printed at the end with the URLs to use them;
3. a dozen demo jobs covering every state, driven through the real lifecycle actions (so the
   audit trail and queued emails are real), only when no demo job exists yet. Demo customers
   all have @example.com addresses; that is how a later run recognises them.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from printdesk.catalogue.models import Material, Printer, Process
from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.models import DispatchMethod, Job, RunState
from printdesk.lib import demo

DEMO_EMAIL_DOMAIN = "@example.com"

MATERIALS = [
    {
        "name": "PLA",
        "process": Process.FDM,
        "description": "Stiff, affordable plastic for prototypes, models and display parts.",
        "colours": ["black", "white", "grey", "orange", "red"],
        "price_per_cm3": Decimal("0.12"),
        "setup_fee": Decimal("5.00"),
        "minimum_charge": Decimal("10.00"),
        "density_g_cm3": Decimal("1.24"),
    },
    {
        "name": "PETG",
        "process": Process.FDM,
        "description": "Tougher than PLA, slightly flexible, resists moisture and chemicals.",
        "colours": ["black", "clear", "blue"],
        "price_per_cm3": Decimal("0.15"),
        "setup_fee": Decimal("5.00"),
        "minimum_charge": Decimal("10.00"),
        "density_g_cm3": Decimal("1.27"),
    },
    {
        "name": "ABS",
        "process": Process.FDM,
        "description": "Heat-resistant engineering plastic (to about 95 °C), can be smoothed.",
        "colours": ["black", "white"],
        "price_per_cm3": Decimal("0.16"),
        "setup_fee": Decimal("5.00"),
        "minimum_charge": Decimal("12.00"),
        "density_g_cm3": Decimal("1.04"),
    },
    {
        "name": "TPU 95A",
        "process": Process.FDM,
        "description": "Rubber-like flexible filament for grips, seals and bumpers.",
        "colours": ["black", "red", "translucent"],
        "price_per_cm3": Decimal("0.25"),
        "setup_fee": Decimal("8.00"),
        "minimum_charge": Decimal("15.00"),
        "density_g_cm3": Decimal("1.21"),
    },
    {
        "name": "Tough resin",
        "process": Process.SLA,
        "description": "ABS-like engineering resin: fine detail with impact strength.",
        "colours": ["grey"],
        "price_per_cm3": Decimal("0.45"),
        "setup_fee": Decimal("10.00"),
        "minimum_charge": Decimal("20.00"),
        "density_g_cm3": Decimal("1.15"),
    },
    {
        "name": "Nylon PA12",
        "process": Process.SLS,
        "description": "Strong, durable SLS powder; no supports, ideal for end-use parts.",
        "colours": ["natural white", "dyed black"],
        "price_per_cm3": Decimal("0.60"),
        "setup_fee": Decimal("15.00"),
        "minimum_charge": Decimal("30.00"),
        "density_g_cm3": Decimal("1.01"),
    },
]

# name, process, build volume x, y, z in mm, throughput in cm³ of parts per hour (typical
# figures for print-time estimates; a bureau measures its own)
PRINTERS = [
    ("Prusa MK4S", Process.FDM, (250, 210, 220), Decimal("15")),
    ("Bambu Lab X1 Carbon", Process.FDM, (256, 256, 256), Decimal("25")),
    ("Formlabs Form 4", Process.SLA, (200, 125, 210), Decimal("20")),
    ("Formlabs Fuse 1+ 30W", Process.SLS, (165, 165, 300), Decimal("30")),
]


@dataclass(frozen=True)
class Cast:
    """The people and machines the demo stories act with."""

    operator: Actor
    admin: Actor
    printers: dict[str, int]
    customer: Actor = field(default_factory=Actor.customer)


@dataclass(frozen=True)
class DemoJob:
    customer_name: str
    email: str  # local part; the demo domain is added
    material: str
    colour: str
    quantity: int
    files: tuple[tuple[str, tuple[float, float, float]], ...]
    notes: str
    story: Callable[[Job, Cast], object]
    company: str = ""
    phone: str = ""
    desired_in_days: int | None = None


# --- what happens to each demo job after it is submitted --------------------------------------


def _stays_submitted(job: Job, cast: Cast) -> None:
    pass


def _revised_before_quote(job: Job, cast: Cast) -> None:
    first = job.files.get()
    actions.revise_file(
        job=job,
        actor=cast.customer,
        upload=demo.stl_upload("bike_light_mount_v2.stl", (52, 34, 18)),
        job_file_id=first.pk,
    )


def _quoted(job: Job, cast: Cast) -> None:
    demo.send_quote(
        job,
        cast.operator,
        unit_price="18.40",
        description="Surgical guide, tough resin",
        message="Printed at 50 µm layers; guides are post-cured and individually bagged.",
    )


def _requoted_after_revision(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="9.80", description="Sensor bracket")
    actions.revise_file(
        job=job,
        actor=cast.customer,
        upload=demo.stl_upload("sensor_bracket_rev_b.stl", (60, 40, 12)),
        job_file_id=job.files.get().pk,
    )
    demo.send_quote(
        Job.objects.get(pk=job.pk),
        cast.operator,
        unit_price="8.90",
        description="Sensor bracket, rev B",
        message="Updated for rev B: the thinner web saves powder, so the price drops.",
    )


def _quote_declined(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="340.00", description="Site model 1:500")
    actions.decline_quote(
        job=job,
        actor=cast.customer,
        quote_version=1,
        reason="Over our budget for this competition entry, thank you anyway.",
    )


def _declined(job: Job, cast: Cast) -> None:
    actions.decline_request(
        job=job,
        actor=cast.operator,
        reason=(
            "At 400 mm the helmet is larger than any of our build volumes. Please split it "
            "into parts of at most 250 mm and send it again."
        ),
    )


def _accepted_after_revised_quote(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="48.00", description="Flow cell housing")
    actions.decline_quote(
        job=job,
        actor=cast.customer,
        quote_version=1,
        reason="Could you do it for less with a three-week lead time?",
    )
    job = demo.send_quote(
        Job.objects.get(pk=job.pk),
        cast.operator,
        unit_price="39.00",
        description="Flow cell housing",
        message="With three weeks we can batch your parts with others: 39.00 EUR per housing.",
    )
    demo.accept(job)


def _split_into_runs(job: Job, cast: Cast) -> None:
    """Thirty arms in three runs of ten: one done, one failed (its parts owed again), one
    printing."""
    job = demo.send_quote(job, cast.operator, unit_price="14.20", description="Drone arm")
    job = demo.accept(job, cast.operator)  # agreed on the phone, recorded by the operator
    job = actions.start_production(job=job, actor=cast.operator)
    fuse = cast.printers["Formlabs Fuse 1+ 30W"]
    outcomes = [
        (RunState.DONE, "Dimensions checked on 3 samples: all within 0.1 mm."),
        (RunState.FAILED, "Warped: the bed temperature drifted; parts out of tolerance."),
        (RunState.PRINTING, None),
    ]
    for state, notes in outcomes:
        run = actions.add_run(job=job, actor=cast.operator, quantity=10, printer_id=fuse)
        actions.update_run(job=job, actor=cast.operator, run_id=run.pk, state=state, notes=notes)
    # The failed run's ten parts are owed again: plan their reprint.
    actions.add_run(
        job=job, actor=cast.operator, quantity=10, printer_id=fuse, notes="Reprint of failed run"
    )
    actions.add_note(
        job=job,
        actor=cast.operator,
        body="Told Felix about the warped batch; he is fine with delivery two days later.",
    )


def _ready(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="22.00", description="Gauntlet plates")
    job = actions.start_production(job=demo.accept(job), actor=cast.operator)
    demo.print_all(job, cast.operator, printer_id=cast.printers["Prusa MK4S"])


def _dispatched_by_carrier(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="3.15", description="Control knob")
    job = actions.start_production(job=demo.accept(job), actor=cast.operator)
    job = demo.print_all(job, cast.operator, printer_id=cast.printers["Bambu Lab X1 Carbon"])
    actions.dispatch(
        job=job,
        actor=cast.operator,
        method=DispatchMethod.CARRIER,
        carrier="DHL Express",
        tracking_number="JD014600006281230475",
    )


def _handed_over(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="0.90", description="Cable clip")
    job = actions.start_production(job=demo.accept(job), actor=cast.operator)
    job = demo.print_all(job, cast.operator, printer_id=cast.printers["Prusa MK4S"])
    actions.dispatch(job=job, actor=cast.admin, method=DispatchMethod.HAND_OVER)


def _cancelled_by_customer(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="6.50", description="Lamp shade clip")
    actions.cancel(job=job, actor=cast.customer, reason="We found a supplier closer to us, sorry.")


def _cancelled_in_production(job: Job, cast: Cast) -> None:
    job = demo.send_quote(job, cast.operator, unit_price="27.00", description="Insole shell")
    job = actions.start_production(job=demo.accept(job), actor=cast.operator)
    actions.cancel(
        job=job,
        actor=cast.operator,
        reason="The clinic withdrew the order by phone; the started plate is scrapped.",
    )


DEMO_JOBS = [
    DemoJob(
        customer_name="Mara Lindqvist",
        company="Nordlicht Robotics AB",
        email="mara.lindqvist",
        phone="+46 31 555 0142",
        material="PETG",
        colour="black",
        quantity=24,
        files=(
            ("gripper_finger_left.stl", (80, 18, 12)),
            ("gripper_finger_right.stl", (80, 18, 12)),
        ),
        notes="Soft-jaw fingers for our pick-and-place cell; the M3 holes need to be 3.2 mm.",
        desired_in_days=21,
        story=_stays_submitted,
    ),
    DemoJob(
        customer_name="Tom Okafor",
        email="tom.okafor",
        material="TPU 95A",
        colour="red",
        quantity=4,
        files=(("bike_light_mount.stl", (50, 34, 18)),),
        notes="Handlebar mount for a light, 31.8 mm bar. Uploaded a fix for the strap slot.",
        story=_revised_before_quote,
    ),
    DemoJob(
        customer_name="Priya Raman",
        company="Raman Dental Lab",
        email="priya",
        phone="+44 20 7946 0321",
        material="Tough resin",
        colour="grey",
        quantity=10,
        files=(("surgical_guide_case_118.stl", (62, 48, 15)),),
        notes="Implant guides; please keep the sleeve holes free of supports.",
        desired_in_days=10,
        story=_quoted,
    ),
    DemoJob(
        customer_name="Jonas Weber",
        company="Weber Maschinenbau GmbH",
        email="j.weber",
        material="Nylon PA12",
        colour="natural white",
        quantity=50,
        files=(("sensor_bracket.stl", (60, 40, 15)),),
        notes="Brackets for inductive sensors on a conveyor line.",
        story=_requoted_after_revision,
    ),
    DemoJob(
        customer_name="Elena Costa",
        company="Studio Costa Architetti",
        email="elena.costa",
        material="PLA",
        colour="white",
        quantity=1,
        files=(("site_model_1-500.stl", (240, 200, 60)),),
        notes="Competition model, matte white, no visible layer seams on the facades please.",
        desired_in_days=30,
        story=_quote_declined,
    ),
    DemoJob(
        customer_name="Kevin Marsh",
        company="Marsh Props & Costume",
        email="kevin",
        material="ABS",
        colour="white",
        quantity=1,
        files=(("full_size_helmet.stl", (400, 300, 350)),),
        notes="Full-size helmet in one piece, to be sanded and painted.",
        story=_declined,
    ),
    DemoJob(
        customer_name="Hannah Schulz",
        company="Lakeside University, Fluid Dynamics Lab",
        email="h.schulz",
        material="ABS",
        colour="black",
        quantity=6,
        files=(("flow_cell_housing.stl", (120, 80, 45)),),
        notes="Housings for a water-tunnel experiment; the O-ring groove is critical.",
        story=_accepted_after_revised_quote,
    ),
    DemoJob(
        customer_name="Felix Brandt",
        company="Brandt Drone Works",
        email="felix",
        phone="+49 89 5550 1187",
        material="Nylon PA12",
        colour="dyed black",
        quantity=30,
        files=(("drone_arm_x8.stl", (160, 28, 22)), ("motor_mount.stl", (40, 40, 8))),
        notes="Arms for our X8 inspection drone. Quantity is per arm; the mount is for reference.",
        desired_in_days=14,
        story=_split_into_runs,
    ),
    DemoJob(
        customer_name="Sofia Marin",
        email="sofia.marin",
        material="TPU 95A",
        colour="black",
        quantity=2,
        files=(("gauntlet_plates.stl", (180, 90, 30)),),
        notes="Cosplay gauntlet, left and right. Needed for a convention in three weeks!",
        desired_in_days=20,
        story=_ready,
    ),
    DemoJob(
        customer_name="Oliver Grant",
        company="Grant Audio Ltd",
        email="oliver",
        material="ABS",
        colour="black",
        quantity=40,
        files=(("control_knob_d32.stl", (32, 32, 22)),),
        notes="Knobs for amplifier prototypes; knurled side up, please.",
        story=_dispatched_by_carrier,
    ),
    DemoJob(
        customer_name="Aisha Bello",
        company="Southside Makerspace",
        email="aisha",
        material="PLA",
        colour="orange",
        quantity=12,
        files=(("cable_clip.stl", (30, 12, 10)),),
        notes="Cable clips for the workshop benches; I'll pick them up on Thursday.",
        story=_handed_over,
    ),
    DemoJob(
        customer_name="Lukas Novak",
        company="Novak Design s.r.o.",
        email="lukas.novak",
        material="PETG",
        colour="clear",
        quantity=8,
        files=(("lamp_shade_clip.stl", (45, 45, 20)),),
        notes="Clips for a pendant lamp prototype.",
        story=_cancelled_by_customer,
    ),
    DemoJob(
        customer_name="Inês Duarte",
        company="Duarte Orthotics",
        email="ines.duarte",
        material="Tough resin",
        colour="grey",
        quantity=2,
        files=(("insole_shell_l.stl", (110, 60, 25)), ("insole_shell_r.stl", (110, 60, 25))),
        notes="One pair of insole shells, patient ref. 2291.",
        story=_cancelled_in_production,
    ),
]


class Command(BaseCommand):
    help = "Load demo materials, printers, staff accounts and jobs (safe to run again)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            self._catalogue()
            passwords = {
                "admin": self._staff_user("admin", superuser=True),
                "operator": self._staff_user("operator", superuser=False),
            }
            links = self._jobs()
        if links:
            self.stdout.write(f"Created {len(links)} demo jobs.")
        else:
            self.stdout.write("Demo jobs already exist; left as they are.")
        self._report(passwords, links)

    def _catalogue(self) -> None:
        for material in MATERIALS:
            defaults = {k: v for k, v in material.items() if k != "name"}
            Material.objects.get_or_create(name=material["name"], defaults=defaults)
        for name, process, (x, y, z), throughput in PRINTERS:
            Printer.objects.get_or_create(
                name=name,
                defaults={
                    "process": process,
                    "build_x_mm": x,
                    "build_y_mm": y,
                    "build_z_mm": z,
                    "throughput_cm3_h": throughput,
                },
            )

    def _staff_user(self, username: str, *, superuser: bool) -> str:
        """Create or repair the account and give it a new password, which is returned."""
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@printdesk.invalid"}
        )
        user.is_active = True
        user.is_staff = True
        user.is_superuser = superuser
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save()
        return password

    def _jobs(self) -> list[tuple[Job, str]]:
        """Create the demo jobs; returns each with its private link (only hashes are kept)."""
        if Job.objects.filter(customer_email__iendswith=DEMO_EMAIL_DOMAIN).exists():
            return []
        User = get_user_model()
        cast = Cast(
            operator=Actor.staff(User.objects.get(username="operator")),
            admin=Actor.staff(User.objects.get(username="admin")),
            printers=dict(Printer.objects.values_list("name", "pk")),
        )
        materials = dict(Material.objects.values_list("name", "pk"))
        today = timezone.localdate()
        links = []
        for spec in DEMO_JOBS:
            job, secret = actions.submit_request(
                customer_name=spec.customer_name,
                customer_email=spec.email + DEMO_EMAIL_DOMAIN,
                customer_phone=spec.phone,
                customer_company=spec.company,
                material_id=materials[spec.material],
                colour=spec.colour,
                quantity=spec.quantity,
                files=[demo.stl_upload(name, size) for name, size in spec.files],
                desired_date=(
                    today + timedelta(days=spec.desired_in_days) if spec.desired_in_days else None
                ),
                notes=spec.notes,
            )
            spec.story(job, cast)
            job.refresh_from_db(fields=["state"])  # the story moved it on through its own copy
            links.append((job, actions.customer_link(secret)))
        return links

    def _report(self, passwords: dict[str, str], links: list[tuple[Job, str]]) -> None:
        site = settings.SITE_URL
        operator_password = passwords["operator"]
        body = '{"username": "operator", "password": "' + operator_password + '"}'
        lines = [
            "",
            "printdesk demo is ready. New passwords are set on every run of load_demo:",
            "",
            f"  admin      password: {passwords['admin']}   (admin: superuser)",
            f"  operator   password: {operator_password}   (operator: staff)",
            "",
            f"  Request form (customers):  {site}/",
            f"  Operator desk:             {site}/desk/",
            f"  Admin site:                {site}/admin/",
            f"  API:                       {site}/api/v1/   (OpenAPI: {site}/api/v1/openapi.json)",
            "",
            "  Operators get an API token with:",
            f"    curl -X POST {site}/api/v1/auth/token \\",
            "         -H 'Content-Type: application/json' \\",
            f"         -d '{body}'",
            "  then send it as: Authorization: Bearer <token>",
            "",
        ]
        if links:
            lines.append("  Customers' private job links (shown only now; only hashes are kept):")
            for job, link in links:
                lines.append(f"    {job.reference}  {job.state:<15} {link}")
        else:
            lines.append(
                f"  Customers' links were shown when the demo jobs were created; {site}/lost-link/"
            )
            lines.append("  emails fresh ones (the demo's mail is written to var/mail).")
        lines.append("")
        self.stdout.write("\n".join(lines))
