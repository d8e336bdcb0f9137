"""Extensions, created unbound and attached to the app in ``create_app``."""

from flask_alembic import Alembic
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

from .models import Base

# pool_pre_ping: a connection the server dropped (a restarted PostgreSQL) is replaced before
# use, so requests succeed again without restarting the app.
db = SQLAlchemy(engine_options={"pool_pre_ping": True})
alembic = Alembic(metadatas=Base.metadata)
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
