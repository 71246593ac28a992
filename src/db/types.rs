//! One portable SQL type for ids: native `UUID` on PostgreSQL, `TEXT` on SQLite.

use std::io::Write;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, SqlType, Text};
use diesel::sqlite::Sqlite;
use uuid::Uuid;

use super::MultiBackend;

#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct PortableUuid;

/// A UUID as stored. Models use it; the typed ids of `domain` convert to and from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = PortableUuid)]
pub struct DbUuid(pub Uuid);

impl ToSql<PortableUuid, Pg> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<PortableUuid, Pg> for DbUuid {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(DbUuid(Uuid::from_slice(value.as_bytes())?))
    }
}

impl ToSql<PortableUuid, Sqlite> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<PortableUuid, Sqlite> for DbUuid {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(DbUuid(Uuid::parse_str(&text)?))
    }
}

impl HasSqlType<PortableUuid> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<PortableUuid>(lookup)
    }
}

impl FromSql<PortableUuid, MultiBackend> for DbUuid {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<DbUuid, PortableUuid>()
    }
}

impl ToSql<PortableUuid, MultiBackend> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((PortableUuid, self));
        Ok(IsNull::No)
    }
}

macro_rules! id_conversions {
    ($($id:ty),*) => {
        $(
            impl From<$id> for DbUuid {
                fn from(id: $id) -> DbUuid {
                    DbUuid(id.0)
                }
            }
            impl From<DbUuid> for $id {
                fn from(id: DbUuid) -> $id {
                    <$id>::from_uuid(id.0)
                }
            }
        )*
    };
}

id_conversions!(
    crate::kernel::CommunityId,
    crate::kernel::MemberId,
    crate::kernel::AccountId,
    crate::kernel::UserId,
    crate::kernel::JournalId,
    crate::kernel::GoodsId,
    crate::kernel::RedemptionId,
    crate::kernel::RuleId,
    crate::kernel::DeedId,
    crate::kernel::GrantId
);

/// Reads and writes an enum of `stored_words!` as the TEXT it always was. A stored word the enum
/// does not know is an error where it is read, never another value.
#[macro_export]
macro_rules! text_column {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl diesel::expression::AsExpression<diesel::sql_types::Text> for $ty {
                type Expression = diesel::internal::derives::as_expression::Bound<diesel::sql_types::Text, Self>;
                fn as_expression(self) -> Self::Expression {
                    diesel::internal::derives::as_expression::Bound::new(self)
                }
            }
            impl<'a> diesel::expression::AsExpression<diesel::sql_types::Text> for &'a $ty {
                type Expression = diesel::internal::derives::as_expression::Bound<diesel::sql_types::Text, Self>;
                fn as_expression(self) -> Self::Expression {
                    diesel::internal::derives::as_expression::Bound::new(self)
                }
            }
            impl diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>> for $ty {
                type Expression = diesel::internal::derives::as_expression::Bound<diesel::sql_types::Nullable<diesel::sql_types::Text>, Self>;
                fn as_expression(self) -> Self::Expression {
                    diesel::internal::derives::as_expression::Bound::new(self)
                }
            }
            impl<'a> diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>> for &'a $ty {
                type Expression = diesel::internal::derives::as_expression::Bound<diesel::sql_types::Nullable<diesel::sql_types::Text>, Self>;
                fn as_expression(self) -> Self::Expression {
                    diesel::internal::derives::as_expression::Bound::new(self)
                }
            }
            impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $ty
            where
                DB: diesel::backend::Backend,
                str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
            {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, DB>,
                ) -> diesel::serialize::Result {
                    <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
                }
            }
            impl<DB> diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::Text>, DB> for $ty
            where
                DB: diesel::backend::Backend,
                $ty: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
            {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, DB>,
                ) -> diesel::serialize::Result {
                    <$ty as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self, out)
                }
            }
            impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
            where
                DB: diesel::backend::Backend,
                String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
            {
                fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                    let word = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                    <$ty>::parse(&word).ok_or_else(|| {
                        format!("unknown {} '{word}' in the database", stringify!($ty)).into()
                    })
                }
            }
            impl<DB, ST> diesel::deserialize::Queryable<ST, DB> for $ty
            where
                DB: diesel::backend::Backend,
                ST: diesel::sql_types::SingleValue,
                $ty: diesel::deserialize::FromSql<ST, DB>,
            {
                type Row = Self;
                fn build(row: Self) -> diesel::deserialize::Result<Self> {
                    Ok(row)
                }
            }
        )+
    };
}

crate::text_column!(
    crate::kernel::AccountKind,
    crate::kernel::JournalKind,
    crate::kernel::ActiveStatus
);
