"""Department staff for tests: a user in a department, with the group its role gets."""

from django.contrib.auth.models import User

from consult.consultations.models import Department
from consult.consultations.services import staff_join


def member(username: str, department_name: str) -> User:
    user = User.objects.create_user(username, password="pw", email=f"{username}@gov.example")
    staff_join(user, Department.objects.get(name=department_name))
    return user
