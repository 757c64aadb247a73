"""Staff passwords pass Django's four validators, with at least 12 characters."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

VALIDATORS = "django.contrib.auth.password_validation."


def test_the_four_validators_are_on_with_a_minimum_of_12():
    names = [v["NAME"] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        VALIDATORS + "UserAttributeSimilarityValidator",
        VALIDATORS + "MinimumLengthValidator",
        VALIDATORS + "CommonPasswordValidator",
        VALIDATORS + "NumericPasswordValidator",
    ]
    assert settings.AUTH_PASSWORD_VALIDATORS[1]["OPTIONS"] == {"min_length": 12}


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("kq8-vbn-zt4", "at least 12 characters"),
        ("password1234", "too common"),
        ("804519372615", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused(password, why):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)
    assert why in " ".join(refused.value.messages)


def test_a_password_like_the_username_is_refused(operator):
    with pytest.raises(ValidationError, match="too similar"):
        validate_password("olga@bureau.test", user=operator)


def test_a_long_unusual_password_is_accepted(operator):
    validate_password("kq8-vbn-zt4-lw2", user=operator)
