#include "storage/sqlite/detail/room_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"
#include "storage/validation.hpp"

#include <cassert>
#include <cstdint>

namespace parley::storage::sqlite::detail {

namespace {

std::int64_t micros(Timestamp t) noexcept {
  return static_cast<std::int64_t>(t.time_since_epoch().count());
}

Timestamp from_micros(std::int64_t us) noexcept {
  return Timestamp(std::chrono::microseconds(us));
}

// The columns of muc_rooms in the order room_from_row reads them.
constexpr const char* room_columns =
    "service, room, name, description, password, members_only, moderated, max_occupants, public_room, persistent, "
    "history_length, whois, change_subject, allow_invites, allow_pm, subject, subject_by, subject_at_us, created_us";

StoredRoom room_from_row(const Statement& row) {
  StoredRoom room;
  room.service = row.column_text(0);
  room.room = row.column_text(1);
  RoomConfig& c = room.config;
  c.name = row.column_text(2);
  c.description = row.column_text(3);
  c.password = row.column_text(4);
  c.members_only = row.column_int(5) != 0;
  c.moderated = row.column_int(6) != 0;
  c.max_occupants = static_cast<std::uint32_t>(row.column_int(7));
  c.public_room = row.column_int(8) != 0;
  c.persistent = row.column_int(9) != 0;
  c.history_length = static_cast<std::uint32_t>(row.column_int(10));
  c.whois = parse_whois(row.column_text(11)).value_or(Whois::moderators);
  c.change_subject = row.column_int(12) != 0;
  c.allow_invites = row.column_int(13) != 0;
  c.allow_pm = parse_allow_pm(row.column_text(14)).value_or(AllowPm::anyone);
  room.subject = row.column_text(15);
  room.subject_by = row.column_text(16);
  room.subject_at = from_micros(row.column_int(17));
  room.created = from_micros(row.column_int(18));
  return room;
}

} // namespace

boost::system::result<void> RoomStore::put(const StoredRoom& room) {
  assert(off_io_thread());
  if (auto valid = validate_room(room); !valid) {
    return valid;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto upsert = connection.prepare(
        "INSERT INTO muc_rooms(service, room, name, description, password, members_only, moderated, max_occupants, "
        "public_room, persistent, history_length, whois, change_subject, allow_invites, allow_pm, subject, "
        "subject_by, subject_at_us, created_us) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) "
        "ON CONFLICT(service, room) DO UPDATE SET name = excluded.name, description = excluded.description, "
        "password = excluded.password, members_only = excluded.members_only, moderated = excluded.moderated, "
        "max_occupants = excluded.max_occupants, public_room = excluded.public_room, "
        "persistent = excluded.persistent, history_length = excluded.history_length, whois = excluded.whois, "
        "change_subject = excluded.change_subject, allow_invites = excluded.allow_invites, "
        "allow_pm = excluded.allow_pm, subject = excluded.subject, subject_by = excluded.subject_by, "
        "subject_at_us = excluded.subject_at_us, created_us = excluded.created_us");
    if (!upsert) {
      return upsert.error();
    }
    const RoomConfig& c = room.config;
    auto stored = upsert->bind_text(1, room.service)
                      .bind_text(2, room.room)
                      .bind_text(3, c.name)
                      .bind_text(4, c.description)
                      .bind_text(5, c.password)
                      .bind_int(6, c.members_only ? 1 : 0)
                      .bind_int(7, c.moderated ? 1 : 0)
                      .bind_int(8, c.max_occupants)
                      .bind_int(9, c.public_room ? 1 : 0)
                      .bind_int(10, c.persistent ? 1 : 0)
                      .bind_int(11, c.history_length)
                      .bind_text(12, to_string(c.whois))
                      .bind_int(13, c.change_subject ? 1 : 0)
                      .bind_int(14, c.allow_invites ? 1 : 0)
                      .bind_text(15, to_string(c.allow_pm))
                      .bind_text(16, room.subject)
                      .bind_text(17, room.subject_by)
                      .bind_int(18, micros(room.subject_at))
                      .bind_int(19, micros(room.created))
                      .run();
    if (!stored) {
      return stored;
    }
    {
      auto cleared = connection.prepare("DELETE FROM muc_affiliations WHERE service = ?1 AND room = ?2");
      if (!cleared) {
        return cleared.error();
      }
      if (auto ran = cleared->bind_text(1, room.service).bind_text(2, room.room).run(); !ran) {
        return ran;
      }
    }
    for (const auto& entry : room.affiliations) {
      auto insert = connection.prepare("INSERT INTO muc_affiliations(service, room, jid, affiliation, nick, reason) "
                                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
      if (!insert) {
        return insert.error();
      }
      auto inserted = insert->bind_text(1, room.service)
                          .bind_text(2, room.room)
                          .bind_text(3, entry.jid)
                          .bind_text(4, to_string(entry.affiliation))
                          .bind_text(5, entry.nick)
                          .bind_text(6, entry.reason)
                          .run();
      if (!inserted) {
        return inserted;
      }
    }
    return {};
  });
}

boost::system::result<std::vector<StoredRoom>> RoomStore::select(std::string_view service, std::string_view room) {
  // One snapshot for the rooms and their affiliations; both come sorted by (service, room), so
  // the affiliations are merged into their rooms in one pass.
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<StoredRoom>> {
    std::string where;
    if (!room.empty()) {
      where = " WHERE service = ?1 AND room = ?2";
    } else if (!service.empty()) {
      where = " WHERE service = ?1";
    }
    std::vector<StoredRoom> rooms;
    {
      auto statement = connection.prepare("SELECT " + std::string(room_columns) + " FROM muc_rooms" + where +
                                          " ORDER BY service, room");
      if (!statement) {
        return statement.error();
      }
      if (!service.empty()) {
        statement->bind_text(1, service);
      }
      if (!room.empty()) {
        statement->bind_text(2, room);
      }
      for (;;) {
        auto row = statement->step();
        if (!row) {
          return row.error();
        }
        if (!*row) {
          break;
        }
        rooms.push_back(room_from_row(*statement));
      }
    }
    if (rooms.empty()) {
      return rooms;
    }
    auto statement = connection.prepare("SELECT service, room, jid, affiliation, nick, reason FROM muc_affiliations" +
                                        where + " ORDER BY service, room, jid");
    if (!statement) {
      return statement.error();
    }
    if (!service.empty()) {
      statement->bind_text(1, service);
    }
    if (!room.empty()) {
      statement->bind_text(2, room);
    }
    std::size_t at = 0;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      const std::string of_service = statement->column_text(0);
      const std::string of_room = statement->column_text(1);
      while (at < rooms.size() && (rooms[at].service != of_service || rooms[at].room != of_room)) {
        ++at;
      }
      if (at == rooms.size()) {
        return storage_errc::internal; // both sorted the same way: cannot happen
      }
      RoomAffiliation entry;
      entry.jid = statement->column_text(2);
      entry.affiliation = parse_affiliation(statement->column_text(3)).value_or(Affiliation::member);
      entry.nick = statement->column_text(4);
      entry.reason = statement->column_text(5);
      rooms[at].affiliations.push_back(std::move(entry));
    }
    return rooms;
  });
}

boost::system::result<StoredRoom> RoomStore::get(std::string_view service, std::string_view room) {
  assert(off_io_thread());
  if (service.empty() || room.empty()) {
    return storage_errc::invalid_argument;
  }
  auto rooms = select(service, room);
  if (!rooms) {
    return rooms.error();
  }
  if (rooms->empty()) {
    return storage_errc::not_found;
  }
  return std::move(rooms->front());
}

boost::system::result<std::vector<StoredRoom>> RoomStore::list(std::string_view service) {
  assert(off_io_thread());
  return select(service, {});
}

boost::system::result<void> RoomStore::remove(std::string_view service, std::string_view room) {
  assert(off_io_thread());
  if (service.empty() || room.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    // The affiliations go with their room (ON DELETE CASCADE).
    auto statement = connection.prepare("DELETE FROM muc_rooms WHERE service = ?1 AND room = ?2");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, service).bind_text(2, room).run(); !deleted) {
      return deleted;
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

} // namespace parley::storage::sqlite::detail
