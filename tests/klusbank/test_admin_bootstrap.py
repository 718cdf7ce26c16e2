from sqlalchemy import event, insert, select

from klusbank.accounts.models import Role, User
from klusbank.db import utcnow
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


def test_roles_form_marks_no_box_required(app, client):
    corporation = create_corporation()
    admin, second = create_admin(corporation), create_admin(corporation)
    db.session.commit()
    login(client, admin)

    page = client.get(f"/admin/users/{second.id}").get_data(as_text=True)

    assert 'name="roles"' in page
    assert 'name="roles" required' not in page
    assert "required" not in page.split('name="roles"')[1].split(">")[0]


def test_roles_form_needs_one_role(app, client):
    corporation = create_corporation()
    admin, second = create_admin(corporation), create_admin(corporation)
    db.session.commit()
    login(client, admin)

    response = client.post(f"/admin/users/{second.id}/roles", data={})

    assert response.status_code == 422
    assert "Kies minstens één rol." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, second.id).role_set == {Role.ADMIN}


def test_invitation_to_test_domain_outside_production(app, client):
    admin = create_admin(create_corporation())
    db.session.commit()
    login(client, admin)

    response = client.post(
        "/admin/users",
        data={
            "email": "  nieuw1@demo.klusbank.test ",
            "full_name": "Nieuwe Medewerker",
            "locale": "nl",
            "roles": ["caretaker"],
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    created = db.session.scalar(
        select(User).where(User.email == "nieuw1@demo.klusbank.test")
    )
    assert created is not None


def test_invitation_racing_same_address_gets_422(app, client):
    corporation = create_corporation()
    admin = create_admin(corporation)
    db.session.commit()
    login(client, admin)
    email = "dubbel@demo.klusbank.test"
    fired = []

    def insert_same_address_first(connection, cursor, statement, *args):
        # Another request commits the same address between this request's
        # check and its INSERT, as a double click does.
        if fired or not statement.lstrip().startswith("INSERT INTO users"):
            return
        fired.append(True)
        with db.engine.connect() as other:
            other.execute(
                insert(User).values(
                    corporation_id=corporation.id,
                    email=email,
                    full_name="Eerste Klik",
                    locale="nl",
                    session_version=1,
                    is_active_account=True,
                    created_at=utcnow(),
                )
            )
            other.commit()

    event.listen(db.engine, "before_cursor_execute", insert_same_address_first)
    try:
        response = client.post(
            "/admin/users",
            data={
                "email": email,
                "full_name": "Tweede Klik",
                "locale": "nl",
                "roles": ["tenant"],
            },
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", insert_same_address_first)

    assert fired
    assert response.status_code == 422
    assert "Er bestaat al een gebruiker met dit e-mailadres." in response.get_data(
        as_text=True
    )
    names = db.session.scalars(select(User.full_name).where(User.email == email))
    assert list(names) == ["Eerste Klik"]
