-- A reporter is sent support resources about an item once, whatever key or token asks again:
-- a send looks up who was messaged about the item already, through this index.
CREATE INDEX user_messages_item ON user_messages (item_id, recipient);
