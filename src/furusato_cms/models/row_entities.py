"""ORM objects from the row of a compiled read (読み取り行からの ORM オブジェクト).

A statement that loads ORM entities pays SQLAlchemy's ORM and Core work on every run —
about 0.25 ms of the 0.4 ms the signed-in identity's one query took on each signed-in
page (issue 16). The same columns read as a Core statement through
``models/compiled_reads`` cost little; ``EntityColumns`` then makes the objects the ORM
would have made from them: persistent in the session, unchanged, with the column values
of the row, or the object the session already holds for that primary key (as a query
would return it, its attributes untouched). The object joins the session the way the
ORM's own loading does (``loading._instance``: its identity key, the session's id, the
identity map's ``_add_unpresent``); adding it with ``Session.add`` instead cost twice
the read itself (save-update cascades over every relationship, attributes expired).
"""
from sqlalchemy import inspect
from sqlalchemy.orm.base import instance_state


class EntityColumns:
    """One mapped class's columns, to be selected among others and made into its object
    from the row they were read in."""

    def __init__(self, model):
        self.mapper = inspect(model)
        attributes = list(self.mapper.column_attrs)
        self.columns = [attribute.columns[0] for attribute in attributes]
        """One column per attribute; a class mapped over two tables (joined inheritance)
        needs them joined in the statement, as selecting the class would."""
        self.keys = [attribute.key for attribute in attributes]
        self.primary_key = [index for index, attribute in enumerate(attributes)
                            if any(column is key for column in attribute.columns
                                   for key in self.mapper.primary_key)]
        self.start = None

    def entity(self, session, row):
        """The object of the row's columns, or None when its primary key is NULL (an
        outer join that found nothing). The session's identity map holds objects weakly,
        as for any query: keep a reference (or set it on a relationship, as a joined load
        would) or the object leaves the session and a relationship loads it again."""
        own = row[self.start:self.start + len(self.columns)]
        primary_key = [own[index] for index in self.primary_key]
        if None in primary_key:
            return None
        identity = self.mapper.identity_key_from_primary_key(primary_key)
        held = session.identity_map.get(identity)
        if held is not None:
            return held
        instance = self.mapper.class_manager.new_instance()
        state = instance_state(instance)
        state.dict.update(zip(self.keys, own))
        state.key = identity
        state.identity_token = identity[2]
        state.session_id = session.hash_key
        session.identity_map._add_unpresent(state, identity)
        return instance


def columns_of(*entities: EntityColumns) -> list:
    """The columns of ``entities`` one after the other, for a SELECT whose row begins
    with them; each learns where its own begin."""
    columns = []
    for entity in entities:
        entity.start = len(columns)
        columns += entity.columns
    return columns
