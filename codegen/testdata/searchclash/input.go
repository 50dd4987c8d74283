package searchclash

// Account declares two indexes whose Go names are the same (QueryByStatus),
// and a compound beacon whose FindBy method is the page method of a
// beacon's FindBy (FindByEmailPage): the generator refuses both.
type Account struct {
	Org    string   `dynamodbav:"org" seal:"pk,tenant"`
	ID     string   `dynamodbav:"id" seal:"sk"`
	Status string   `dynamodbav:"status,omitempty" seal:"index=byStatus"`
	State  string   `dynamodbav:"state,omitempty" seal:"index=status-index"`
	Email  string   `dynamodbav:"email" seal:"encrypt,beacon,index=byEmail"`
	_      struct{} `seal:"compound=emailPage,parts=email+status"`
	_      struct{} `seal:"index=byEmailPage,pk=emailPage"`
}
