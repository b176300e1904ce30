package pay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// WeChat Pay's merchant transfer to a wallet (商家转账, API v3
// /v3/fund-app/mch-transfer/transfer-bills), which pays promoters'
// withdrawals. SDK v0.2.21 predates it (it has only the retired batch
// transfer), so the calls go through the SDK's core client: the same
// signing of requests and verification of answers as every other call.
const (
	transferPath      = "/v3/fund-app/mch-transfer/transfer-bills"
	transferQueryPath = transferPath + "/out-bill-no/"
	// transferScene is "佣金报酬" (commission): the scene the merchant
	// platform must have enabled; its report infos are the scene's own.
	transferScene  = "1005"
	maxOutBillNo   = 32
	maxTransferMsg = 32 // transfer_remark, in characters
)

var _ affiliate.Payouts = (*Client)(nil)

type transferBody struct {
	AppID       string               `json:"appid"`
	OutBillNo   string               `json:"out_bill_no"`
	SceneID     string               `json:"transfer_scene_id"`
	OpenID      string               `json:"openid"`
	Amount      money.Fen            `json:"transfer_amount"`
	Remark      string               `json:"transfer_remark"`
	ReportInfos []transferReportInfo `json:"transfer_scene_report_infos"`
}

type transferReportInfo struct {
	Type    string `json:"info_type"`
	Content string `json:"info_content"`
}

// transferAnswer is the platform's transfer bill, as create and query
// answer it (create leaves out what query adds).
type transferAnswer struct {
	MchID       string `json:"mch_id"`
	OutBillNo   string `json:"out_bill_no"`
	BillNo      string `json:"transfer_bill_no"`
	State       string `json:"state"`
	FailReason  string `json:"fail_reason"`
	PackageInfo string `json:"package_info"`
}

// Transfer pays r.Amount into the wallet of r.OpenID. The platform is
// idempotent by out_bill_no: sending it again returns the first bill.
func (c *Client) Transfer(ctx context.Context, r affiliate.TransferRequest) (affiliate.TransferResult, error) {
	var l errs.List
	if r.OutBillNo == "" || len(r.OutBillNo) > maxOutBillNo {
		l.Add("out_bill_no", "invalid_out_bill_no", "out_bill_no must be 1 to %d characters", maxOutBillNo)
	}
	if r.Amount < 10 {
		l.Add("amount", "invalid_amount", "a transfer is at least 10 fen")
	}
	if r.OpenID == "" {
		l.Add("openid", "required", "the payee's openid is required")
	}
	if err := l.Err(); err != nil {
		return affiliate.TransferResult{}, err
	}
	body := transferBody{
		AppID: c.appID, OutBillNo: r.OutBillNo, SceneID: transferScene, OpenID: r.OpenID, Amount: r.Amount,
		Remark: clip(r.Remark, maxTransferMsg),
		ReportInfos: []transferReportInfo{
			{Type: "岗位类型", Content: "推广员"},
			{Type: "报酬说明", Content: "推广佣金"},
		},
	}
	result, err := c.jsapi.Client.Post(ctx, consts.WechatPayAPIServer+transferPath, body)
	return transferResult("transfer", result, err)
}

// QueryTransfer reads a transfer bill by our number; a bill the platform
// does not have is affiliate.CodeTransferNotFound.
func (c *Client) QueryTransfer(ctx context.Context, outBillNo string) (affiliate.TransferResult, error) {
	if outBillNo == "" || len(outBillNo) > maxOutBillNo {
		return affiliate.TransferResult{}, errs.Field("out_bill_no", "invalid_out_bill_no", "out_bill_no must be 1 to %d characters", maxOutBillNo)
	}
	result, err := c.jsapi.Client.Get(ctx, consts.WechatPayAPIServer+transferQueryPath+url.PathEscape(outBillNo))
	return transferResult("query transfer", result, err)
}

func transferResult(op string, result *core.APIResult, err error) (affiliate.TransferResult, error) {
	if err != nil {
		err = gatewayError(op, result, err, affiliate.CodeTransferNotFound)
		if errs.KindOf(err) == errs.NotFound {
			var e *errs.Error
			errors.As(err, &e)
			err = &errs.Error{Kind: errs.NotFound, Code: affiliate.CodeTransferNotFound,
				Message: "the payment platform has no such transfer", Err: e.Err}
		}
		return affiliate.TransferResult{}, err
	}
	defer result.Response.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(result.Response.Body, 1<<20))
	if err != nil {
		return affiliate.TransferResult{}, invalidResponse(op, err)
	}
	var a transferAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return affiliate.TransferResult{}, invalidResponse(op, err)
	}
	if a.OutBillNo == "" || a.State == "" {
		return affiliate.TransferResult{}, invalidResponse(op, fmt.Errorf("no out_bill_no or state in the answer"))
	}
	return affiliate.TransferResult{OutBillNo: a.OutBillNo, BillNo: a.BillNo, State: affiliate.TransferState(a.State),
		FailReason: a.FailReason, PackageInfo: a.PackageInfo}, nil
}
