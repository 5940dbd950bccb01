"""``create_team SLUG --admin USERNAME``: a team with an admin, creating what is missing."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug
from django.db import transaction

from teams.models import Membership, Team


class Command(BaseCommand):
    help = (
        "Create a team (if missing) and make USERNAME its admin, creating the user if "
        "missing. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="team slug, e.g. acme")
        parser.add_argument("--admin", required=True, metavar="USERNAME")
        parser.add_argument(
            "--password",
            help="password for the user (a new user without one gets a generated password)",
        )
        parser.add_argument("--name", help="display name of the team (default: the slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["slug"]
        username: str = options["admin"]
        password: str | None = options["password"]
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"{slug!r} is not a valid team slug: {exc.messages[0]}") from exc
        if len(slug) > 64:
            raise CommandError("A team slug is at most 64 characters.")
        if not username.strip():
            raise CommandError("Give the admin's username.")
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                generated = password is None
                password = password or secrets.token_urlsafe(12)
                user = User.objects.create_user(username=username, password=password)
                if generated:
                    self.stdout.write(f"Created user {username} with password {password}")
                else:
                    self.stdout.write(f"Created user {username}")
            elif password is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Set the password of user {username}")
            else:
                self.stdout.write(f"User {username} exists")

            team, created = Team.objects.get_or_create(
                slug=slug, defaults={"name": options["name"] or slug}
            )
            if created:
                self.stdout.write(f"Created team {slug}")
            else:
                if options["name"] and team.name != options["name"]:
                    team.name = options["name"]
                    team.save(update_fields=["name"])
                    self.stdout.write(f"Renamed team {slug} to {team.name}")
                self.stdout.write(f"Team {slug} exists")

            membership, created = Membership.objects.get_or_create(
                team=team, user=user, defaults={"role": Membership.Role.ADMIN}
            )
            if created:
                self.stdout.write(f"Added {username} to {slug} as admin")
            elif membership.role != Membership.Role.ADMIN:
                membership.role = Membership.Role.ADMIN
                membership.save(update_fields=["role"])
                self.stdout.write(f"Made {username} an admin of {slug}")
            else:
                self.stdout.write(f"{username} is already an admin of {slug}")
