#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"
#include "storage/validation.hpp"

#include <cassert>

namespace parley::storage::postgres::detail {

namespace {

// The columns of muc_rooms in the order room_from reads them.
constexpr std::string_view room_columns =
    "service, room, name, description, password, members_only, moderated, max_occupants, public_room, persistent, "
    "history_length, whois, change_subject, allow_invites, allow_pm, subject, subject_by, subject_at_us, created_us";

StoredRoom room_from(const Rows& rows, int row) {
  StoredRoom room;
  room.service = rows.text(row, 0);
  room.room = rows.text(row, 1);
  RoomConfig& c = room.config;
  c.name = rows.text(row, 2);
  c.description = rows.text(row, 3);
  c.password = rows.text(row, 4);
  c.members_only = rows.boolean(row, 5);
  c.moderated = rows.boolean(row, 6);
  c.max_occupants = static_cast<std::uint32_t>(rows.integer(row, 7));
  c.public_room = rows.boolean(row, 8);
  c.persistent = rows.boolean(row, 9);
  c.history_length = static_cast<std::uint32_t>(rows.integer(row, 10));
  c.whois = parse_whois(rows.text(row, 11)).value_or(Whois::moderators);
  c.change_subject = rows.boolean(row, 12);
  c.allow_invites = rows.boolean(row, 13);
  c.allow_pm = parse_allow_pm(rows.text(row, 14)).value_or(AllowPm::anyone);
  room.subject = rows.text(row, 15);
  room.subject_by = rows.text(row, 16);
  room.subject_at = from_micros(rows.integer(row, 17));
  room.created = from_micros(rows.integer(row, 18));
  return room;
}

} // namespace

boost::system::result<void> RoomStore::put(const StoredRoom& room) {
  assert(off_io_thread());
  if (auto valid = validate_room(room); !valid) {
    return valid;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    const RoomConfig& c = room.config;
    Params params;
    params.text(room.service)
        .text(room.room)
        .text(c.name)
        .text(c.description)
        .text(c.password)
        .boolean(c.members_only)
        .boolean(c.moderated)
        .integer(c.max_occupants)
        .boolean(c.public_room)
        .boolean(c.persistent)
        .integer(c.history_length)
        .text(to_string(c.whois))
        .boolean(c.change_subject)
        .boolean(c.allow_invites)
        .text(to_string(c.allow_pm))
        .text(room.subject)
        .text(room.subject_by)
        .integer(micros(room.subject_at))
        .integer(micros(room.created));
    auto stored = connection.exec(
        "INSERT INTO muc_rooms(service, room, name, description, password, members_only, moderated, max_occupants, "
        "public_room, persistent, history_length, whois, change_subject, allow_invites, allow_pm, subject, "
        "subject_by, subject_at_us, created_us) "
        "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
        "ON CONFLICT(service, room) DO UPDATE SET name = excluded.name, description = excluded.description, "
        "password = excluded.password, members_only = excluded.members_only, moderated = excluded.moderated, "
        "max_occupants = excluded.max_occupants, public_room = excluded.public_room, "
        "persistent = excluded.persistent, history_length = excluded.history_length, whois = excluded.whois, "
        "change_subject = excluded.change_subject, allow_invites = excluded.allow_invites, "
        "allow_pm = excluded.allow_pm, subject = excluded.subject, subject_by = excluded.subject_by, "
        "subject_at_us = excluded.subject_at_us, created_us = excluded.created_us",
        params);
    if (!stored) {
      return stored.error();
    }
    Params key;
    key.text(room.service).text(room.room);
    if (auto cleared = connection.exec("DELETE FROM muc_affiliations WHERE service = $1 AND room = $2", key);
        !cleared) {
      return cleared.error();
    }
    for (const auto& entry : room.affiliations) {
      Params row;
      row.text(room.service)
          .text(room.room)
          .text(entry.jid)
          .text(to_string(entry.affiliation))
          .text(entry.nick)
          .text(entry.reason);
      auto inserted = connection.exec("INSERT INTO muc_affiliations(service, room, jid, affiliation, nick, reason) "
                                      "VALUES($1, $2, $3, $4, $5, $6)",
                                      row);
      if (!inserted) {
        return inserted.error();
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
    Params params;
    if (!room.empty()) {
      where = " WHERE service = $1 AND room = $2";
      params.text(service).text(room);
    } else if (!service.empty()) {
      where = " WHERE service = $1";
      params.text(service);
    }
    auto rows = connection.exec(
        "SELECT " + std::string(room_columns) + " FROM muc_rooms" + where + " ORDER BY service, room", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<StoredRoom> rooms;
    rooms.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      rooms.push_back(room_from(*rows, i));
    }
    if (rooms.empty()) {
      return rooms;
    }
    auto entries = connection.exec("SELECT service, room, jid, affiliation, nick, reason FROM muc_affiliations" +
                                       where + " ORDER BY service, room, jid",
                                   params);
    if (!entries) {
      return entries.error();
    }
    std::size_t at = 0;
    for (int i = 0; i < entries->size(); ++i) {
      const std::string of_service = entries->text(i, 0);
      const std::string of_room = entries->text(i, 1);
      while (at < rooms.size() && (rooms[at].service != of_service || rooms[at].room != of_room)) {
        ++at;
      }
      if (at == rooms.size()) {
        return storage_errc::internal; // both sorted the same way: cannot happen
      }
      RoomAffiliation entry;
      entry.jid = entries->text(i, 2);
      entry.affiliation = parse_affiliation(entries->text(i, 3)).value_or(Affiliation::member);
      entry.nick = entries->text(i, 4);
      entry.reason = entries->text(i, 5);
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
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(service).text(room);
    // The affiliations go with their room (ON DELETE CASCADE).
    auto deleted = connection.exec("DELETE FROM muc_rooms WHERE service = $1 AND room = $2", params);
    if (!deleted) {
      return deleted.error();
    }
    if (deleted->affected() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

} // namespace parley::storage::postgres::detail
