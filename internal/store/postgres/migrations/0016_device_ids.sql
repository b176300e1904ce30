-- The device a share link was opened on, and the device a promoter binding
-- was made from (the invite code's request, or the visit), when the client
-- names one (X-Device-Id): distribution counts downlines bound from one
-- device (affiliate.ClusterDownlines). Rows made before this migration,
-- and requests that name no device, have ''.
ALTER TABLE share_visits ADD COLUMN device_id text NOT NULL DEFAULT '';
ALTER TABLE affiliate_bindings ADD COLUMN device_id text NOT NULL DEFAULT '';
