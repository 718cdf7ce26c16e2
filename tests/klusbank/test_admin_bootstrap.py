from sqlalchemy import select

from klusbank.accounts.models import Role, User
from klusbank.extensions import db
from tests.factories import (
    create_admin,
    create_corporation,
    create_user_with_roles,
    login,
)


def test_create_user_command_prints_invitation(app, runner):
    create_corporation(code="nieuw")
    db.session.commit()

    result = runner.invoke(
        args=[
            "housing",
            "create-user",
            "--corporation",
            "nieuw",
            "--email",
            "Beheer@Nieuw.test",
            "--name",
            "Eerste Beheerder",
            "--role",
            "admin",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "/invitation/" in result.output
    user = db.session.scalar(select(User).where(User.email == "beheer@nieuw.test"))
    assert user.role_set == {Role.ADMIN}
    assert user.password_hash is None


def test_create_user_command_rejects_duplicate(app, runner):
    corporation = create_corporation(code="nieuw")
    existing = create_user_with_roles(corporation, Role.ADMIN)
    db.session.commit()

    result = runner.invoke(
        args=[
            "housing",
            "create-user",
            "--corporation",
            "nieuw",
            "--email",
            existing.email,
            "--name",
            "Twee",
            "--role",
            "admin",
        ]
    )

    assert result.exit_code != 0
    assert "email" in result.output


def test_last_admin_cannot_drop_own_admin_role(app, client):
    admin = create_admin(create_corporation())
    db.session.commit()
    login(client, admin)

    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["tenant"]})

    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, admin.id).has_role(Role.ADMIN)


def test_admin_role_can_move_to_another_admin(app, client):
    corporation = create_corporation()
    admin, second = create_admin(corporation), create_admin(corporation)
    db.session.commit()
    login(client, admin)

    response = client.post(
        f"/admin/users/{second.id}/roles", data={"roles": ["finance"]}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, second.id).role_set == {Role.FINANCE}
