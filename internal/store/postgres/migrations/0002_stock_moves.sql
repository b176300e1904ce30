-- siyu_move_stock moves an order's units at one location, one SKU after
-- another in the order given (callers sort by SKU id, so two orders never
-- wait on each other's rows in opposite orders), and journals each move.
-- Every move is a conditional UPDATE; when one changes no row the function
-- raises SQLSTATE SY001 with the SKU as the detail, which aborts the whole
-- transaction. That lets an order's inserts, its stock and its COMMIT travel
-- in one round trip: a short SKU cannot leave half an order behind.
CREATE FUNCTION siyu_move_stock(
    p_skus uuid[], p_qtys bigint[], p_ids uuid[],
    p_location text, p_reason text, p_ref text, p_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    moved integer;
    d_on bigint;
    d_res bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_skus, 1), 0) LOOP
        IF p_reason = 'reserve' THEN
            UPDATE stock_levels SET reserved = reserved + p_qtys[i], updated_at = p_at
             WHERE sku_id = p_skus[i] AND location = p_location AND on_hand - reserved >= p_qtys[i];
            d_on := 0; d_res := p_qtys[i];
        ELSIF p_reason = 'release' THEN
            UPDATE stock_levels SET reserved = reserved - p_qtys[i], updated_at = p_at
             WHERE sku_id = p_skus[i] AND location = p_location AND reserved >= p_qtys[i];
            d_on := 0; d_res := -p_qtys[i];
        ELSIF p_reason = 'commit' THEN
            UPDATE stock_levels SET on_hand = on_hand - p_qtys[i], reserved = reserved - p_qtys[i], updated_at = p_at
             WHERE sku_id = p_skus[i] AND location = p_location AND reserved >= p_qtys[i];
            d_on := -p_qtys[i]; d_res := -p_qtys[i];
        ELSE
            RAISE EXCEPTION 'siyu_move_stock: unknown reason %', p_reason;
        END IF;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'SY001', MESSAGE = 'stock short', DETAIL = p_skus[i]::text;
        END IF;
        INSERT INTO stock_movements (id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
        VALUES (p_ids[i], p_skus[i], p_location, d_on, d_res, p_reason, p_ref, p_at);
    END LOOP;
END
$$;
