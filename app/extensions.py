"""Extensions, created unbound and attached to the app in ``create_app``."""

from flask_alembic import Alembic
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

from .models import Base

db = SQLAlchemy()
alembic = Alembic(metadatas=Base.metadata)
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
